import Foundation

/// The Blob service's XML answers: page lists and blob listings (docs/azure-rest.md, "Get Page Ranges").
enum AzureBlobXML {
    static func pageList(_ body: [UInt8], blob: BlobAddress) throws -> (list: PageRangeList, nextMarker: String?) {
        let root = try XMLTree.parseResponse(body, what: "Get Page Ranges of \(blob)")
        guard root.name == "PageList" else {
            throw StorageError(
                .invalidXML, status: 0, "Get Page Ranges of \(blob): the root element is <\(root.name)>, not <PageList>"
            )
        }
        var list = PageRangeList(pageRanges: [], clearRanges: [])
        for element in root.children where element.name == "PageRange" || element.name == "ClearRange" {
            guard let start = element.value("Start").flatMap({ UInt64($0.trimmingCharacters(in: .whitespaces)) }),
                let end = element.value("End").flatMap({ UInt64($0.trimmingCharacters(in: .whitespaces)) }),
                end >= start, end < UInt64.max
            else {
                throw StorageError(
                    .invalidXML, status: 0,
                    "Get Page Ranges of \(blob): a <\(element.name)> lacks a valid <Start>/<End>")
            }
            let range = ByteRange(offset: start, length: end - start + 1)
            if element.name == "PageRange" { list.pageRanges.append(range) } else { list.clearRanges.append(range) }
        }
        let marker = root.value("NextMarker")?.trimmingCharacters(in: .whitespacesAndNewlines)
        return (list, marker?.isEmpty == false ? marker : nil)
    }

    static func listing(_ body: [UInt8], container: String) throws -> BlobListing {
        let root = try XMLTree.parseResponse(body, what: "List Blobs of \(container)")
        var items: [BlobListing.Item] = []
        for blob in root.child("Blobs")?.children("Blob") ?? [] {
            guard let name = blob.value("Name"), let properties = blob.child("Properties") else {
                throw StorageError(
                    .invalidXML, status: 0, "List Blobs of \(container): a <Blob> lacks <Name> or <Properties>")
            }
            var metadata: [String: String] = [:]
            for entry in blob.child("Metadata")?.children ?? [] { metadata[entry.name] = entry.text }
            let type = properties.value("BlobType").flatMap(BlobType.init(rawValue:)) ?? .blockBlob
            items.append(
                BlobListing.Item(
                    name: name,
                    properties: AzureBlobPropertyNames.listing.properties(type: type, metadata: metadata) {
                        properties.value($0)
                    }))
        }
        let marker = root.value("NextMarker")?.trimmingCharacters(in: .whitespacesAndNewlines)
        return BlobListing(items: items, nextMarker: marker?.isEmpty == false ? marker : nil)
    }
}
