import Foundation
import RelayShared
import Testing

/// The operators' calls over HTTP, as Azure answers them: Peek and Clear Messages; List and Delete
/// Containers, Queues and Tables, with prefix, marker and page size; authorization checked before
/// anything is read or changed, and only an account SAS (or Shared Key) may list or delete.
@Suite(.timeLimit(.minutes(2)))
struct OperatorCallTests {
    static let account = ConnectionString.developmentAccountName
    static let nometadata = [("Accept", "application/json;odata=nometadata")]

    @Test func peekLeavesMessagesAsTheyAre() async throws {
        try await withDevStore { store in
            let port = store.ports.queue
            #expect(
                try await RawRequest(method: "PUT", port: port, path: "/\(Self.account)/control").signed().send().status
                    == 201)
            for text in ["first", "second", "third"] {
                #expect(try await Self.put(text, store).status == 201)
            }
            let taken = try await RawRequest(method: "GET", port: port, path: "/\(Self.account)/control/messages")
                .signed().send()
            #expect(Self.texts(taken.body) == ["first"])
            let peek = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/control/messages",
                query: [("peekonly", "true"), ("numofmessages", "32")]
            ).signed().send()
            #expect(peek.status == 200)
            let text = String(decoding: peek.body, as: UTF8.self)
            // The received message is invisible; the others show unchanged, without pop receipts.
            #expect(Self.texts(peek.body) == ["second", "third"])
            #expect(!text.contains("<PopReceipt>") && !text.contains("<TimeNextVisible>"))
            #expect(text.components(separatedBy: "<DequeueCount>0</DequeueCount>").count == 3)
            // Peeking again sees the same, and a get still receives them for the first time.
            let again = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/control/messages",
                query: [("peekonly", "true"), ("numofmessages", "32")]
            ).signed().send()
            #expect(again.body == peek.body)
            let received = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/control/messages", query: [("numofmessages", "32")]
            ).signed().send()
            #expect(Self.texts(received.body) == ["second", "third"])
            #expect(
                String(decoding: received.body, as: UTF8.self).components(separatedBy: "<DequeueCount>1</DequeueCount>")
                    .count == 3)
            // One message by default; 0 and 33 are out of range; a missing queue is 404.
            let one = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/control/messages", query: [("peekonly", "true")]
            ).signed().send()
            #expect(one.status == 200 && Self.texts(one.body).isEmpty)
            for count in ["0", "33"] {
                let refused = try await RawRequest(
                    method: "GET", port: port, path: "/\(Self.account)/control/messages",
                    query: [("peekonly", "true"), ("numofmessages", count)]
                ).signed().send()
                #expect(refused.status == 400 && refused.headers["x-ms-error-code"] == "OutOfRangeQueryParameterValue")
            }
            let missing = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/nothing/messages", query: [("peekonly", "true")]
            ).signed().send()
            #expect(missing.status == 404 && missing.headers["x-ms-error-code"] == "QueueNotFound")
        }
    }

    @Test func clearAndDeleteQueues() async throws {
        try await withDevStore { store in
            let port = store.ports.queue
            for queue in ["alpha", "beta"] {
                #expect(
                    try await RawRequest(method: "PUT", port: port, path: "/\(Self.account)/\(queue)").signed().send()
                        .status == 201)
            }
            for text in ["a", "b"] { _ = try await Self.put(text, store, queue: "alpha") }
            // One made invisible: clearing takes it too.
            _ = try await RawRequest(method: "GET", port: port, path: "/\(Self.account)/alpha/messages").signed().send()
            let clear = try await RawRequest(method: "DELETE", port: port, path: "/\(Self.account)/alpha/messages")
                .signed().send()
            #expect(clear.status == 204)
            #expect(try await Self.messageCount("alpha", store) == "0")
            // Clearing and deleting a missing queue are 404.
            let clearMissing = try await RawRequest(
                method: "DELETE", port: port, path: "/\(Self.account)/gamma/messages"
            ).signed().send()
            #expect(clearMissing.status == 404 && clearMissing.headers["x-ms-error-code"] == "QueueNotFound")
            _ = try await Self.put("kept?", store, queue: "beta")
            let delete = try await RawRequest(method: "DELETE", port: port, path: "/\(Self.account)/beta").signed()
                .send()
            #expect(delete.status == 204)
            let again = try await RawRequest(method: "DELETE", port: port, path: "/\(Self.account)/beta").signed()
                .send()
            #expect(again.status == 404 && again.headers["x-ms-error-code"] == "QueueNotFound")
            #expect(try await Self.put("x", store, queue: "beta").status == 404)
            // A queue made again under the name starts empty.
            #expect(
                try await RawRequest(method: "PUT", port: port, path: "/\(Self.account)/beta").signed().send().status
                    == 201)
            #expect(try await Self.messageCount("beta", store) == "0")
        }
    }

    @Test func listQueuesPagesByPrefixAndMarker() async throws {
        try await withDevStore { store in
            let port = store.ports.queue
            let names = ["job-a", "job-b", "job-c", "job-d", "other"]
            for queue in names.reversed() {
                #expect(
                    try await RawRequest(method: "PUT", port: port, path: "/\(Self.account)/\(queue)").signed().send()
                        .status == 201)
            }
            let all = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/", query: [("comp", "list")]
            ).signed().send()
            #expect(all.status == 200)
            #expect(Self.names(all.body, "Queue") == names)
            #expect(Self.element("NextMarker", all.body) == nil)
            var seen: [String] = []
            var marker: String?
            var pages = 0
            repeat {
                var query = [("comp", "list"), ("prefix", "job-"), ("maxresults", "3"), ("include", "metadata")]
                if let marker { query.append(("marker", marker)) }
                let page = try await RawRequest(method: "GET", port: port, path: "/\(Self.account)/", query: query)
                    .signed().send()
                #expect(page.status == 200)
                #expect(Self.element("MaxResults", page.body) == "3" && Self.element("Prefix", page.body) == "job-")
                seen += Self.names(page.body, "Queue")
                marker = Self.element("NextMarker", page.body)
                pages += 1
            } while marker != nil && pages < 5
            #expect(seen == ["job-a", "job-b", "job-c", "job-d"])
            #expect(pages == 2)
            for bad in ["0", "5001", "x"] {
                let refused = try await RawRequest(
                    method: "GET", port: port, path: "/\(Self.account)/",
                    query: [("comp", "list"), ("maxresults", bad)]
                ).signed().send()
                #expect(refused.status == 400, "maxresults=\(bad)")
            }
        }
    }

    /// List Blobs answers with the same `EnumerationResults` header as the other listings (`ListingQuery`),
    /// naming its container: the echoed prefix, marker and page size, and the next page's marker.
    @Test func listBlobsEchoesItsQueryAndPagesByMarker() async throws {
        try await withDevStore { store in
            let port = store.ports.blob
            let container = "/\(Self.account)/vhds"
            #expect(
                try await RawRequest(method: "PUT", port: port, path: container, query: [("restype", "container")])
                    .signed().send().status == 201)
            for name in ["disk-b.vhd", "disk-a.vhd", "other.vhd"] {
                #expect(
                    try await RawRequest(
                        method: "PUT", port: port, path: "\(container)/\(name)",
                        headers: [("x-ms-blob-type", "PageBlob"), ("x-ms-blob-content-length", "512")]
                    ).signed().send().status == 201)
            }
            let list = [("restype", "container"), ("comp", "list")]
            let first = try await RawRequest(
                method: "GET", port: port, path: container,
                query: list + [("prefix", "disk-"), ("maxresults", "1"), ("include", "metadata")]
            ).signed().send()
            #expect(first.status == 200)
            let page = try XMLTree.parse(first.body)
            #expect(page.name == "EnumerationResults")
            #expect(String(decoding: first.body, as: UTF8.self).contains("ContainerName=\"vhds\""))
            #expect(page.value("Prefix") == "disk-" && page.value("MaxResults") == "1" && page.value("Marker") == nil)
            #expect(Self.names(first.body, "Blob") == ["disk-a.vhd"])
            #expect(page.child("Blobs")?.child("Blob")?.child("Metadata") != nil)
            let next = try #require(page.value("NextMarker").flatMap { $0.isEmpty ? nil : $0 })
            let second = try await RawRequest(
                method: "GET", port: port, path: container, query: list + [("prefix", "disk-"), ("marker", next)]
            ).signed().send()
            let last = try XMLTree.parse(second.body)
            #expect(last.value("Marker") == next && last.value("MaxResults") == nil && last.value("NextMarker") == "")
            #expect(Self.names(second.body, "Blob") == ["disk-b.vhd"])
            let refused = try await RawRequest(
                method: "GET", port: port, path: container, query: list + [("maxresults", "5001")]
            ).signed().send()
            #expect(refused.status == 400)
        }
    }

    @Test func listContainersAndDeleteOneWithLeasedBlobs() async throws {
        try await withDevStore { store in
            let port = store.ports.blob
            for container in ["vhds-2", "vhds-1", "temp"] {
                #expect(
                    try await RawRequest(
                        method: "PUT", port: port, path: "/\(Self.account)/\(container)",
                        query: [("restype", "container")]
                    ).signed().send().status == 201)
            }
            let list = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/", query: [("comp", "list"), ("prefix", "vhds")]
            ).signed().send()
            #expect(list.status == 200)
            #expect(Self.names(list.body, "Container") == ["vhds-1", "vhds-2"])
            let text = String(decoding: list.body, as: UTF8.self)
            #expect(
                text.contains("<Last-Modified>") && text.contains("<Etag>\"0x")
                    && text.contains("<LeaseState>available</LeaseState>"))
            let first = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/", query: [("comp", "list"), ("maxresults", "1")]
            ).signed().send()
            #expect(Self.names(first.body, "Container") == ["temp"])
            let next = try #require(Self.element("NextMarker", first.body))
            let rest = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/", query: [("comp", "list"), ("marker", next)]
            ).signed().send()
            #expect(Self.names(rest.body, "Container") == ["vhds-1", "vhds-2"])

            // A leased blob does not protect its container (only a container lease would).
            let blob = "/\(Self.account)/vhds-1/disk.vhd"
            #expect(
                try await RawRequest(
                    method: "PUT", port: port, path: blob,
                    headers: [("x-ms-blob-type", "PageBlob"), ("x-ms-blob-content-length", "4096")]
                )
                .signed().send().status == 201)
            let lease = try await RawRequest(
                method: "PUT", port: port, path: blob, query: [("comp", "lease")],
                headers: [("x-ms-lease-action", "acquire"), ("x-ms-lease-duration", "-1")]
            ).signed().send()
            #expect(lease.status == 201)
            let files = try FileManager.default.contentsOfDirectory(
                atPath: store.directory.path + "/\(Self.account)/blobs")
            #expect(files.count == 1)
            // A lease id names a container lease, which does not exist; a condition that fails keeps it.
            let withLease = try await RawRequest(
                method: "DELETE", port: port, path: "/\(Self.account)/vhds-1", query: [("restype", "container")],
                headers: [("x-ms-lease-id", lease.headers["x-ms-lease-id"] ?? "")]
            ).signed().send()
            #expect(
                withLease.status == 412
                    && withLease.headers["x-ms-error-code"] == "LeaseNotPresentWithContainerOperation")
            let unmodified = try await RawRequest(
                method: "DELETE", port: port, path: "/\(Self.account)/vhds-1", query: [("restype", "container")],
                headers: [("If-Unmodified-Since", "Mon, 01 Jan 2024 00:00:00 GMT")]
            ).signed().send()
            #expect(unmodified.status == 412 && unmodified.headers["x-ms-error-code"] == "ConditionNotMet")
            let delete = try await RawRequest(
                method: "DELETE", port: port, path: "/\(Self.account)/vhds-1", query: [("restype", "container")]
            ).signed().send()
            #expect(delete.status == 202)
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: store.directory.path + "/\(Self.account)/blobs")
                    .isEmpty)
            let gone = try await RawRequest(method: "GET", port: port, path: blob).signed().send()
            #expect(gone.status == 404 && gone.headers["x-ms-error-code"] == "ContainerNotFound")
            let again = try await RawRequest(
                method: "DELETE", port: port, path: "/\(Self.account)/vhds-1", query: [("restype", "container")]
            ).signed().send()
            #expect(again.status == 404 && again.headers["x-ms-error-code"] == "ContainerNotFound")
            // The name is held (30 s by default, as in Azure; its end: LocalBlobConformanceTests) and the
            // container stays gone meanwhile.
            let held = try await RawRequest(
                method: "PUT", port: port, path: "/\(Self.account)/vhds-1", query: [("restype", "container")]
            ).signed().send()
            #expect(held.status == 409 && held.headers["x-ms-error-code"] == "ContainerBeingDeleted")
            let blobs = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/vhds-1",
                query: [("restype", "container"), ("comp", "list")]
            ).signed().send()
            #expect(blobs.status == 404 && blobs.headers["x-ms-error-code"] == "ContainerNotFound")
        }
    }

    @Test func queryAndDeleteTables() async throws {
        try await withDevStore { store in
            let port = store.ports.table
            let names = ["Alpha", "beta", "Control", "delta"]
            for name in names {
                let created = try await RawRequest(
                    method: "POST", port: port, path: "/\(Self.account)/Tables", headers: Self.nometadata,
                    body: Array(#"{"TableName":"\#(name)"}"#.utf8)
                )
                .signed(service: .table).send()
                #expect(created.status == 201)
            }
            // Pages of two, in case-insensitive order, names as created.
            var seen: [String] = []
            var next: String?
            var pages = 0
            repeat {
                var query = [("$top", "2")]
                if let next { query.append(("NextTableName", next)) }
                let page = try await RawRequest(
                    method: "GET", port: port, path: "/\(Self.account)/Tables", query: query, headers: Self.nometadata
                )
                .signed(service: .table).send()
                #expect(page.status == 200)
                seen += try Self.tableNames(page.body)
                next = page.headers["x-ms-continuation-nexttablename"]
                pages += 1
            } while next != nil && pages < 5
            #expect(seen == ["Alpha", "beta", "Control", "delta"])
            #expect(pages == 2)
            let filtered = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/Tables",
                query: [("$filter", TestSAS.encoded("TableName eq 'Control'"))], headers: Self.nometadata
            )
            .signed(service: .table).send()
            #expect(try Self.tableNames(filtered.body) == ["Control"])
            // As in Azure, `$filter` applies to each page of `$top` names: pages before the match are empty
            // but continue, and the match comes on the page that holds it.
            var filteredPages: [[String]] = []
            var marker: String?
            repeat {
                var query = [("$filter", TestSAS.encoded("TableName eq 'delta'")), ("$top", "1")]
                if let marker { query.append(("NextTableName", marker)) }
                let page = try await RawRequest(
                    method: "GET", port: port, path: "/\(Self.account)/Tables", query: query, headers: Self.nometadata
                )
                .signed(service: .table).send()
                #expect(page.status == 200)
                filteredPages.append(try Self.tableNames(page.body))
                marker = page.headers["x-ms-continuation-nexttablename"]
            } while marker != nil && filteredPages.count < 10
            #expect(filteredPages == [[], [], [], ["delta"]])
            let minimal = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/Tables",
                headers: [("Accept", "application/json;odata=minimalmetadata")]
            )
            .signed(service: .table).send()
            #expect(String(decoding: minimal.body, as: UTF8.self).contains("$metadata#Tables"))

            // Deleting a table deletes its entities: made again, it is empty.
            let insert = try await RawRequest(
                method: "POST", port: port, path: "/\(Self.account)/Control",
                headers: Self.nometadata + [("Content-Type", "application/json")],
                body: Array(#"{"PartitionKey":"p","RowKey":"r"}"#.utf8)
            ).signed(service: .table).send()
            #expect(insert.status == 201)
            let delete = try await RawRequest(method: "DELETE", port: port, path: "/\(Self.account)/Tables('Control')")
                .signed(service: .table).send()
            #expect(delete.status == 204)
            let again = try await RawRequest(method: "DELETE", port: port, path: "/\(Self.account)/Tables('control')")
                .signed(service: .table).send()
            #expect(again.status == 404 && again.headers["x-ms-error-code"] == "TableNotFound")
            let created = try await RawRequest(
                method: "POST", port: port, path: "/\(Self.account)/Tables", headers: Self.nometadata,
                body: Array(#"{"TableName":"Control"}"#.utf8)
            )
            .signed(service: .table).send()
            #expect(created.status == 201)
            let entity = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/Control(PartitionKey='p',RowKey='r')",
                headers: Self.nometadata
            )
            .signed(service: .table).send()
            #expect(entity.status == 404)
        }
    }

    /// Unsigned and under-privileged requests change nothing; a service SAS neither lists nor deletes,
    /// whatever permissions it claims; an account SAS needs `l` to list and `d` to delete.
    /// Azure creates containers, queues and tables only for Shared Key or an account SAS: a service SAS
    /// is refused whatever letters it carries, and nothing is created; an account SAS with `c` creates.
    @Test func serviceSASCannotCreateContainersQueuesOrTables() async throws {
        try await withDevStore { store in
            let refused = [
                try await RawRequest(
                    method: "PUT", port: store.ports.blob, path: "/\(Self.account)/made",
                    query: [("restype", "container")] + TestSAS.container("made", permissions: "racwdl")
                ).send(),
                try await RawRequest(
                    method: "PUT", port: store.ports.queue, path: "/\(Self.account)/made",
                    query: TestSAS.queue("made", permissions: "raupd")
                ).send(),
                try await RawRequest(
                    method: "POST", port: store.ports.table, path: "/\(Self.account)/Tables",
                    query: TestSAS.table(table: "tables", permissions: "raud"), headers: Self.nometadata,
                    body: Array(#"{"TableName":"made"}"#.utf8)
                ).send(),
            ]
            for answer in refused {
                #expect(answer.status == 403 && answer.headers["x-ms-error-code"] == "AuthorizationPermissionMismatch")
            }
            for port in [store.ports.blob, store.ports.queue] {
                let list = try await RawRequest(
                    method: "GET", port: port, path: "/\(Self.account)/", query: [("comp", "list")]
                ).signed().send()
                #expect(list.status == 200 && !String(decoding: list.body, as: UTF8.self).contains("<Name>made</Name>"))
            }
            let tables = try await RawRequest(
                method: "GET", port: store.ports.table, path: "/\(Self.account)/Tables", headers: Self.nometadata
            ).signed(service: .table).send()
            #expect(tables.status == 200 && !String(decoding: tables.body, as: UTF8.self).contains("made"))
            let byAccountSAS = try await RawRequest(
                method: "PUT", port: store.ports.blob, path: "/\(Self.account)/made",
                query: [("restype", "container")] + TestSAS.account(permissions: "c", resourceTypes: "c")
            ).send()
            #expect(byAccountSAS.status == 201)
        }
    }

    @Test func authorizationComesFirstAndServiceSASCannotListOrDelete() async throws {
        try await withDevStore { store in
            let blob = store.ports.blob
            let queue = store.ports.queue
            let table = store.ports.table
            #expect(
                try await RawRequest(
                    method: "PUT", port: blob, path: "/\(Self.account)/vhds", query: [("restype", "container")]
                ).signed().send().status == 201)
            #expect(
                try await RawRequest(method: "PUT", port: queue, path: "/\(Self.account)/control").signed().send()
                    .status == 201)
            _ = try await Self.put("still here", store)
            try await HostileRequestTests.createTables(["Rows"], store)

            var refusals: [(String, (status: Int, headers: [String: String], body: [UInt8]))] = []
            func refuse(_ what: String, _ request: RawRequest) async throws {
                refusals.append((what, try await request.send()))
            }
            // Unsigned.
            try await refuse(
                "unsigned delete container",
                RawRequest(
                    method: "DELETE", port: blob, path: "/\(Self.account)/vhds", query: [("restype", "container")]))
            try await refuse(
                "unsigned clear", RawRequest(method: "DELETE", port: queue, path: "/\(Self.account)/control/messages"))
            try await refuse(
                "unsigned delete queue", RawRequest(method: "DELETE", port: queue, path: "/\(Self.account)/control"))
            try await refuse(
                "unsigned delete table",
                RawRequest(method: "DELETE", port: table, path: "/\(Self.account)/Tables('Rows')"))
            try await refuse(
                "unsigned list",
                RawRequest(method: "GET", port: blob, path: "/\(Self.account)/", query: [("comp", "list")]))
            try await refuse(
                "unsigned peek",
                RawRequest(
                    method: "GET", port: queue, path: "/\(Self.account)/control/messages", query: [("peekonly", "true")]
                ))
            // Service SAS, even with every letter.
            try await refuse(
                "container SAS delete",
                RawRequest(
                    method: "DELETE", port: blob, path: "/\(Self.account)/vhds",
                    query: [("restype", "container")] + TestSAS.container("vhds", permissions: "racwdl")))
            try await refuse(
                "queue SAS clear",
                RawRequest(
                    method: "DELETE", port: queue, path: "/\(Self.account)/control/messages",
                    query: TestSAS.queue("control", permissions: "raupd")))
            try await refuse(
                "queue SAS delete",
                RawRequest(
                    method: "DELETE", port: queue, path: "/\(Self.account)/control",
                    query: TestSAS.queue("control", permissions: "raupd")))
            try await refuse(
                "table SAS delete",
                RawRequest(
                    method: "DELETE", port: table, path: "/\(Self.account)/Tables('Rows')",
                    query: TestSAS.table(table: "Rows", permissions: "raud")))
            try await refuse(
                "table SAS list",
                RawRequest(
                    method: "GET", port: table, path: "/\(Self.account)/Tables",
                    query: TestSAS.table(table: "Rows", permissions: "raud"), headers: Self.nometadata))
            // Account SAS without the letter, or without the resource type.
            try await refuse(
                "account SAS list without l",
                RawRequest(
                    method: "GET", port: blob, path: "/\(Self.account)/",
                    query: [("comp", "list")] + TestSAS.account(permissions: "rwd")))
            try await refuse(
                "account SAS list without s",
                RawRequest(
                    method: "GET", port: blob, path: "/\(Self.account)/",
                    query: [("comp", "list")] + TestSAS.account(permissions: "l", resourceTypes: "co")))
            try await refuse(
                "account SAS delete without d",
                RawRequest(
                    method: "DELETE", port: blob, path: "/\(Self.account)/vhds",
                    query: [("restype", "container")] + TestSAS.account(permissions: "rwl")))
            try await refuse(
                "account SAS clear without d",
                RawRequest(
                    method: "DELETE", port: queue, path: "/\(Self.account)/control/messages",
                    query: TestSAS.account(permissions: "rp", services: "q")))
            try await refuse(
                "account SAS delete table without d",
                RawRequest(
                    method: "DELETE", port: table, path: "/\(Self.account)/Tables('Rows')",
                    query: TestSAS.account(permissions: "rl", services: "t")))
            for (what, response) in refusals {
                #expect(
                    response.status == 403, "\(what): \(response.status) \(response.headers["x-ms-error-code"] ?? "")")
            }
            // Nothing changed.
            #expect(
                try await RawRequest(
                    method: "GET", port: blob, path: "/\(Self.account)/vhds", query: [("restype", "container")]
                ).signed().send().status == 200)
            #expect(try await Self.messageCount("control", store) == "1")
            #expect(
                try Self.tableNames(
                    try await RawRequest(
                        method: "GET", port: table, path: "/\(Self.account)/Tables", headers: Self.nometadata
                    )
                    .signed(service: .table).send().body) == ["Rows"])

            // A queue SAS with r peeks; account SAS with the right letters list and delete.
            let peek = try await RawRequest(
                method: "GET", port: queue, path: "/\(Self.account)/control/messages",
                query: [("peekonly", "true")] + TestSAS.queue("control", permissions: "r")
            ).send()
            #expect(peek.status == 200 && Self.texts(peek.body) == ["still here"])
            let list = try await RawRequest(
                method: "GET", port: blob, path: "/\(Self.account)/",
                query: [("comp", "list")] + TestSAS.account(permissions: "l", resourceTypes: "s")
            ).send()
            #expect(list.status == 200 && Self.names(list.body, "Container") == ["vhds"])
            let tables = try await RawRequest(
                method: "GET", port: table, path: "/\(Self.account)/Tables",
                query: TestSAS.account(permissions: "l", services: "t", resourceTypes: "s"),
                headers: Self.nometadata
            ).send()
            #expect(tables.status == 200)
            #expect(try Self.tableNames(tables.body) == ["Rows"])
            let clear = try await RawRequest(
                method: "DELETE", port: queue, path: "/\(Self.account)/control/messages",
                query: TestSAS.account(permissions: "d", services: "q", resourceTypes: "c")
            ).send()
            #expect(clear.status == 204)
            let delete = try await RawRequest(
                method: "DELETE", port: blob, path: "/\(Self.account)/vhds",
                query: [("restype", "container")] + TestSAS.account(permissions: "d", resourceTypes: "c")
            ).send()
            #expect(delete.status == 202)
            let dropTable = try await RawRequest(
                method: "DELETE", port: table, path: "/\(Self.account)/Tables('Rows')",
                query: TestSAS.account(permissions: "d", services: "t", resourceTypes: "c")
            ).send()
            #expect(dropTable.status == 204)
        }
    }

    // MARK: Helpers

    static func put(_ text: String, _ store: RunningDevStore, queue: String = "control") async throws -> (
        status: Int, headers: [String: String], body: [UInt8]
    ) {
        try await RawRequest(
            method: "POST", port: store.ports.queue, path: "/\(account)/\(queue)/messages",
            body: Array("<QueueMessage><MessageText>\(text)</MessageText></QueueMessage>".utf8)
        ).signed().send()
    }

    static func messageCount(_ queue: String, _ store: RunningDevStore) async throws -> String? {
        try await RawRequest(
            method: "GET", port: store.ports.queue, path: "/\(account)/\(queue)", query: [("comp", "metadata")]
        ).signed().send()
            .headers["x-ms-approximate-messages-count"]
    }

    static func texts(_ body: [UInt8]) -> [String] { values("MessageText", body) }

    /// The names of the listed items (`<Queue><Name>…`, `<Container><Name>…`, `<Blob><Name>…`).
    static func names(_ body: [UInt8], _ item: String) -> [String] {
        String(decoding: body, as: UTF8.self).components(separatedBy: "<\(item)><Name>").dropFirst().map {
            String($0.prefix { $0 != "<" })
        }
    }

    static func values(_ element: String, _ body: [UInt8]) -> [String] {
        String(decoding: body, as: UTF8.self).components(separatedBy: "<\(element)>").dropFirst().map {
            String($0.prefix { $0 != "<" })
        }
    }

    static func element(_ name: String, _ body: [UInt8]) -> String? { values(name, body).first }

    static func tableNames(_ body: [UInt8]) throws -> [String] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let values = try #require(object["value"] as? [[String: Any]])
        return values.compactMap { $0["TableName"] as? String }
    }
}
