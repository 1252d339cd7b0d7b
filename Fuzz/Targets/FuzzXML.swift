@testable import RelayDevStoreKit
@testable import RelayShared

/// `xml`: the bytes as an XML body, read by the one strict reader (`XMLTree`) both sides share: as a
/// request relay-devstore receives (Put Message's text) and as the responses the Azure backend
/// receives (page ranges, blob listings, queue messages). A tree that parses must read back the same
/// once written with `XMLText.escape`, the writer both sides use.
enum FuzzXML {
    static let blob = BlobAddress(container: "vhds", name: "disk.vhd")

    static func run(_ bytes: UnsafeRawBufferPointer) {
        let body = Array(bytes)
        guard let tree = try? XMLTree.parse(body) else { return }
        let written = Array((XMLText.declaration + xml(tree)).utf8)
        guard let reread = try? XMLTree.parse(written), reread == tree else {
            fatalError("a parsed tree does not read back the same once written: \(tree)")
        }
        _ = try? QueueEndpoint.messageText(body)
        _ = try? AzureBlobXML.pageList(body, blob: blob)
        _ = try? AzureBlobXML.listing(body, container: blob.container)
        _ = try? AzureQueueService.messages(body, queue: "control")
    }

    /// The element with its text first (the tree keeps an element's text as one string, wherever it was).
    static func xml(_ tree: XMLTree) -> String {
        "<\(tree.name)>\(XMLText.escape(tree.text))" + tree.children.map(xml).joined() + "</\(tree.name)>"
    }
}
