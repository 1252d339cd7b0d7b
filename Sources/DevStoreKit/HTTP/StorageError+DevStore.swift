import RelayShared

/// The Azure error codes relay-devstore answers besides those of the storage protocols (which live in
/// `StorageError.swift`): request-shape, authorization and format errors that only a server meets.
extension StorageError.Code {
    static let atomFormatNotSupported: Self = "AtomFormatNotSupported"
    static let authorizationFailure: Self = "AuthorizationFailure"
    static let authorizationPermissionMismatch: Self = "AuthorizationPermissionMismatch"
    static let authorizationProtocolMismatch: Self = "AuthorizationProtocolMismatch"
    static let authorizationResourceTypeMismatch: Self = "AuthorizationResourceTypeMismatch"
    static let authorizationServiceMismatch: Self = "AuthorizationServiceMismatch"
    static let duplicatePropertiesSpecified: Self = "DuplicatePropertiesSpecified"
    static let invalidValueType: Self = "InvalidValueType"
    static let invalidXmlDocument: Self = "InvalidXmlDocument"
    static let leaseNotPresentWithContainerOperation: Self = "LeaseNotPresentWithContainerOperation"
    static let missingRequiredHeader: Self = "MissingRequiredHeader"
    static let missingRequiredQueryParameter: Self = "MissingRequiredQueryParameter"
    static let notImplemented: Self = "NotImplemented"
    static let propertiesNeedValue: Self = "PropertiesNeedValue"
    static let unsupportedHttpVerb: Self = "UnsupportedHttpVerb"
}
