import Foundation
import TestSupport

/// The `relay-client` built beside the test bundle by `swift build --build-tests`.
let relayClient = builtProduct("relay-client")
