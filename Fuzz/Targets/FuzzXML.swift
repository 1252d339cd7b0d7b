@testable import RelayDevStoreKit
@testable import RelayShared

/// `xml`: the bytes as an XML body, read by the one strict reader (`XMLTree`) both sides share: as a
/// request relay-devstore receives (Put Message's text) and as the responses the Azure backend
/// receives (page ranges, blob listings, queue messages).
enum FuzzXML {
    static let blob = BlobAddress(container: "vhds", name: "disk.vhd")

    static func run(_ bytes: UnsafeRawBufferPointer) {
        let body = Array(bytes)
        guard (try? XMLTree.parse(body)) != nil else { return }
        _ = try? QueueEndpoint.messageText(body)
        _ = try? AzureBlobXML.pageList(body, blob: blob)
        _ = try? AzureBlobXML.listing(body, container: blob.container)
        _ = try? AzureQueueService.messages(body, queue: "control")
    }
}
