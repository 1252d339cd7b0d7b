import Foundation
import Testing

@testable import RelayShared

/// Parsing of captured service bodies: XML with a BOM and unknown elements, error bodies, table JSON
/// with and without type annotations, `$batch` answers.
struct AzureParsingTests {
    static let blob = BlobAddress(container: "vhds", name: "disk.vhd")

    @Test func pageListToleratesBOMAndExtraElements() throws {
        let xml =
            "\u{FEFF}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<PageList xmlns:x=\"urn:x\"><Extra>1</Extra>"
            + "<PageRange><Start>0</Start><End>511</End><Note/></PageRange><ClearRange><Start>1024</Start><End>2047</End></ClearRange>"
            + "<PageRange><Start>4096</Start><End>8191</End></PageRange><NextMarker>m2</NextMarker></PageList>"
        let page = try AzureBlobXML.pageList(Array(xml.utf8), blob: Self.blob)
        #expect(page.list.pageRanges == [ByteRange(offset: 0, length: 512), ByteRange(offset: 4096, length: 4096)])
        #expect(page.list.clearRanges == [ByteRange(offset: 1024, length: 1024)])
        #expect(page.nextMarker == "m2")
        let empty = try AzureBlobXML.pageList(Array("<PageList><NextMarker /></PageList>".utf8), blob: Self.blob)
        #expect(empty.list == PageRangeList(pageRanges: []) && empty.nextMarker == nil)
    }

    /// Found by fuzzing (`xml`): an element name with bytes that are not UTF-8 made Foundation's
    /// XMLParser trap, in relay-devstore's Put Message and in the Azure backend's responses alike.
    @Test func documentsThatAreNotUTF8AreRefusedWithoutCrashing() throws {
        let body =
            Array("<?xml version=\"1.0\" encoding=\"utf-8\"?><Que".utf8) + [UInt8](repeating: 0xFF, count: 65)
            + Array("ueMessagesList><QueueMessage><MessageText>x</MessageText></QueueMessage></QueueMessagesList>".utf8)
        #expect(throws: XMLTree.SyntaxError.self) { _ = try XMLTree.parse(body) }
        #expect(throws: (any Error).self) { _ = try AzureQueueService.messages(body, queue: "control") }
        let latin1 = Array("<a>caf".utf8) + [0xE9] + Array("</a>".utf8)
        #expect(throws: XMLTree.SyntaxError.self) { _ = try XMLTree.parse(latin1) }
        #expect(try XMLTree.parse(Array("<a>caf\u{e9} \u{2713}</a>".utf8)).text == "caf\u{e9} \u{2713}")
    }

    /// Foundation's XMLParser crashed (strlen of a null pointer) on a processing instruction without data;
    /// the fuzz target's finding, verbatim, is the first body.
    @Test func processingInstructionsAreRefusedWithoutCrashing() throws {
        for body in [
            "<?xm?><QueueMes=agesList><QueueMessage><MessageId>7c0<?xml vef</Mesr", "<a><?x?></a>",
            "<?xml-stylesheet?><a/>", "<a/><?pi data?>",
        ] {
            #expect(throws: XMLTree.SyntaxError.self, "\(body)") { _ = try XMLTree.parse(Array(body.utf8)) }
        }
        #expect(try XMLTree.parse(Array("<?xml version=\"1.0\" encoding=\"utf-8\"?><a>b</a>".utf8)).text == "b")
    }

    @Test func malformedBodiesAreTypedErrors() {
        #expect {
            try AzureBlobXML.pageList(
                Array("<PageList><PageRange><Start>9</Start></PageRange></PageList>".utf8), blob: Self.blob)
        } throws: { ($0 as? StorageError)?.code == .invalidXML }
        #expect { try AzureBlobXML.pageList(Array("<PageList><Page".utf8), blob: Self.blob) } throws: {
            ($0 as? StorageError)?.code == .invalidXML
        }
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect { try JSONValue.parseResponse(Array(deep.utf8), what: "x") } throws: {
            ($0 as? StorageError)?.code == .invalidJSON
        }
        #expect { try JSONValue.parseResponse(Array("{\"a\":1,}".utf8), what: "x") } throws: {
            ($0 as? StorageError)?.code == .invalidJSON
        }
    }

    @Test func errorResponsesCarryCodeStatusAndFirstMessageLine() {
        let request = AzureRequest("PUT", "/vhds/disk.vhd", safety: .unsafe, subject: "blob vhds/disk.vhd")
        let xml =
            "\u{FEFF}<?xml version=\"1.0\"?><Error><Code>SequenceNumberConditionNotMet</Code><Message>The condition was not met.\nRequestId:1\nTime:x</Message><Extra/></Error>"
        let fromXML = AzureClient.error(
            from: HTTPResponse(status: 412, headers: [], body: Array(xml.utf8)), request: request)
        #expect(fromXML.code == .sequenceNumberConditionNotMet && fromXML.status == 412)
        #expect(fromXML.message == "PUT blob vhds/disk.vhd: The condition was not met.")
        let json =
            "{\"odata.error\":{\"code\":\"EntityAlreadyExists\",\"message\":{\"lang\":\"en-US\",\"value\":\"0:The specified entity already exists.\\nRequestId:1\"}}}"
        let fromJSON = AzureClient.error(
            from: HTTPResponse(status: 409, headers: [], body: Array(json.utf8)), request: request)
        #expect(
            fromJSON.code == .entityAlreadyExists
                && fromJSON.message.hasSuffix(": 0:The specified entity already exists."))
        let head = AzureClient.error(
            from: HTTPResponse(status: 404, headers: [("x-ms-error-code", "BlobNotFound")], body: []), request: request)
        #expect(head.code == .blobNotFound && head.status == 404)
        #expect(
            AzureClient.error(from: HTTPResponse(status: 503, headers: [], body: []), request: request).code
                == .serverBusy)
    }

    @Test func queueMessagesParse() throws {
        let xml =
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessagesList><QueueMessage><MessageId>id1</MessageId>"
            + "<InsertionTime>Mon, 01 Jan 2024 00:00:00 GMT</InsertionTime><PopReceipt>p+/=</PopReceipt><DequeueCount>2</DequeueCount>"
            + "<MessageText>a &amp; &lt;b&gt; &#13;</MessageText></QueueMessage></QueueMessagesList>"
        let messages = try AzureQueueService.messages(Array(xml.utf8), queue: "jobs")
        #expect(messages.count == 1)
        #expect(messages[0].value("MessageText") == "a & <b> \r")
        #expect(messages[0].value("PopReceipt") == "p+/=")
        let body = String(decoding: AzureQueueService.messageBody("x<&>\r'\""), as: UTF8.self)
        let parsed = try XMLTree.parseResponse(Array(body.utf8), what: "t")
        #expect(parsed.value("MessageText") == "x<&>\r'\"")
    }

    @Test func tableEntitiesRoundTripTheirTypes() throws {
        let uuid = UUID()
        let date = Date(timeIntervalSince1970: 1_704_067_200.1234567)
        let entity = TableEntity(
            partitionKey: "p'1", rowKey: "r\"1",
            properties: [
                "S": .string("text \u{1F600}\n"), "I": .int32(-42), "L": .int64(Int64.max), "D": .double(2.0),
                "N": .double(.infinity),
                "B": .bool(true), "T": .dateTime(date), "G": .guid(uuid), "X": .binary([0, 1, 255]),
            ])
        let decoded = try AzureTableJSON.decode(
            JSONValue.parseResponse(AzureTableJSON.encode(entity), what: "t"), table: "t", etag: "W/\"e\"")
        #expect(
            decoded.partitionKey == entity.partitionKey && decoded.rowKey == entity.rowKey && decoded.etag == "W/\"e\"")
        #expect(decoded.properties.count == entity.properties.count)
        for (name, value) in entity.properties where name != "T" { #expect(decoded[name] == value, "\(name)") }
        guard case .dateTime(let back)? = decoded["T"] else {
            Issue.record("T is not a date")
            return
        }
        #expect(abs(back.timeIntervalSince(date)) < 1e-6)
    }

    @Test func unannotatedNumbersAreInt32OrDouble() throws {
        let json =
            "{\"PartitionKey\":\"p\",\"RowKey\":\"r\",\"odata.etag\":\"W/\\\"x\\\"\",\"Timestamp\":\"2024-01-01T00:00:00.5Z\","
            + "\"A\":7,\"B\":2.0,\"C\":1e3,\"D\":\"s\",\"E@odata.type\":\"Edm.Int64\",\"E\":\"9000000000\",\"F\":false}"
        let entity = try AzureTableJSON.decode(
            JSONValue.parseResponse(Array(json.utf8), what: "t"), table: "t", etag: nil)
        #expect(entity.etag == "W/\"x\"")
        #expect(entity.timestamp == Date(timeIntervalSince1970: 1_704_067_200.5))
        #expect(entity["A"] == .int32(7) && entity["B"] == .double(2) && entity["C"] == .double(1000))
        #expect(entity["D"] == .string("s") && entity["E"] == .int64(9_000_000_000) && entity["F"] == .bool(false))
    }

    @Test func batchAnswersGiveETagsOrTheFailingOperation() throws {
        let endpoint = URL(string: "http://127.0.0.1:10002/devstoreaccount1")!
        let operations: [TableOperation] = [
            .insert(TableEntity(partitionKey: "p", rowKey: "a")),
            .delete(partitionKey: "p", rowKey: "b", ifMatch: .any),
        ]
        let batch = AzureTableBatch(endpoint: endpoint, table: "rows", operations: operations)
        let body = String(decoding: try batch.body(), as: UTF8.self)
        #expect(body.contains("POST http://127.0.0.1:10002/devstoreaccount1/rows HTTP/1.1\r\n"))
        #expect(
            body.contains(
                "DELETE http://127.0.0.1:10002/devstoreaccount1/rows(PartitionKey='p',RowKey='b') HTTP/1.1\r\n"))
        #expect(body.hasSuffix("--\(batch.changesetBoundary)--\r\n--\(batch.batchBoundary)--\r\n"))

        let ok =
            "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n--changesetresponse_2\r\n"
            + "Content-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\nETag: W/\"e1\"\r\n\r\n\r\n--changesetresponse_2\r\n"
            + "Content-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n--changesetresponse_2--\r\n--batchresponse_1--\r\n"
        #expect(try batch.results(HTTPResponse(status: 202, headers: [], body: Array(ok.utf8))) == ["W/\"e1\"", nil])

        let failed =
            "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n--changesetresponse_2\r\n"
            + "Content-Type: application/http\r\n\r\nHTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n\r\n"
            + "{\"odata.error\":{\"code\":\"EntityAlreadyExists\",\"message\":{\"lang\":\"en-US\",\"value\":\"0:The specified entity already exists.\"}}}\r\n"
            + "--changesetresponse_2--\r\n--batchresponse_1--\r\n"
        #expect { try batch.results(HTTPResponse(status: 202, headers: [], body: Array(failed.utf8))) } throws: {
            ($0 as? StorageError).map {
                $0.code == .entityAlreadyExists && $0.status == 409 && $0.message.contains("0:")
            } ?? false
        }
    }
}
