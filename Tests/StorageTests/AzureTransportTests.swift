import Foundation
import Synchronization
import Testing

@testable import RelayShared

/// The curl transport and the retrying client against a canned HTTP server on 127.0.0.1.
@Suite(.timeLimit(.minutes(3)))
struct AzureTransportTests {
    static let fast = RetryPolicy(maxRetries: 3, baseDelay: .milliseconds(10), random: { 0.5 })

    static func ok(_ body: String = "", _ headers: [(String, String)] = []) -> AzureTestServer.Answer {
        .respond(status: 200, headers: headers, body: Array(body.utf8))
    }

    @Test func requestsReuseOneConnection() async throws {
        let server = try AzureTestServer { request, _ in Self.ok("hello \(request.method)", [("X-Test", "1")]) }
        defer { server.stop() }
        let transport = try CurlTransport()
        for _ in 0..<3 {
            let response = try await transport.send(
                HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/a", headers: [], maxResponseBytes: 100)
            )
            #expect(
                response.status == 200 && response.body == Array("hello GET".utf8) && response.header("x-test") == "1")
        }
        let put = try await transport.send(
            HTTPRequest(
                method: "PUT", url: "http://127.0.0.1:\(server.port)/b", headers: [("Content-Type", "text/plain")],
                body: Array("data".utf8), maxResponseBytes: 100))
        #expect(put.body == Array("hello PUT".utf8))
        #expect(server.connections == 1)
        let recorded = server.requests
        #expect(recorded.last?.body == Array("data".utf8) && recorded.last?.headers["content-length"] == "4")
        #expect(recorded.last?.headers["expect"] == nil)
    }

    @Test func bodylessWritesSendLengthZeroAndNoFormContentType() async throws {
        let server = try AzureTestServer { _, _ in Self.ok() }
        defer { server.stop() }
        let transport = try CurlTransport()
        _ = try await transport.send(
            HTTPRequest(method: "PUT", url: "http://127.0.0.1:\(server.port)/c", headers: [], maxResponseBytes: 10))
        _ = try await transport.send(
            HTTPRequest(
                method: "MERGE", url: "http://127.0.0.1:\(server.port)/d",
                headers: [("Content-Type", "application/json")],
                body: Array("{}".utf8), maxResponseBytes: 10))
        let requests = server.requests
        #expect(
            requests[0].method == "PUT" && requests[0].headers["content-length"] == "0"
                && requests[0].headers["content-type"] == nil)
        #expect(requests[1].method == "MERGE" && requests[1].headers["content-type"] == "application/json")
    }

    @Test func manyRequestsRunConcurrently() async throws {
        // The server counts the requests it holds at once; one thread in the client must keep them all open.
        let load = Mutex((now: 0, most: 0))
        let server = try AzureTestServer { _, _ in
            load.withLock {
                $0.now += 1
                $0.most = max($0.most, $0.now)
            }
            Thread.sleep(forTimeInterval: 0.5)
            load.withLock { $0.now -= 1 }
            return Self.ok("x")
        }
        defer { server.stop() }
        let transport = try CurlTransport()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<8 {
                group.addTask {
                    let response = try await transport.send(
                        HTTPRequest(
                            method: "GET", url: "http://127.0.0.1:\(server.port)/\(index)", headers: [],
                            maxResponseBytes: 10))
                    #expect(response.status == 200)
                }
            }
            try await group.waitForAll()
        }
        #expect(load.withLock { $0.most } == 8)
        #expect(server.connections == 8)
    }

    @Test func oversizeResponsesFailInsteadOfGrowing() async throws {
        let server = try AzureTestServer { _, _ in Self.ok(String(repeating: "z", count: 10_000)) }
        defer { server.stop() }
        let transport = try CurlTransport()
        await #expect {
            try await transport.send(
                HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/", headers: [], maxResponseBytes: 100))
        } throws: { ($0 as? TransportError)?.kind == .responseTooLarge }
    }

    @Test func refusedConnectionsAreNotSent() async throws {
        let server = try AzureTestServer { _, _ in Self.ok() }
        let port = server.port
        server.stop()
        let transport = try CurlTransport()
        // With a SAS the query is the credential: the error must not repeat it.
        let url = "http://127.0.0.1:\(port)/c/b?sv=2021-12-02&sig=c2VjcmV0%3D"
        await #expect {
            try await transport.send(HTTPRequest(method: "PUT", url: url, headers: [], maxResponseBytes: 10))
        } throws: { error in
            guard let error = error as? TransportError else { return false }
            return error.kind == .notSent && !"\(error)".contains("sig=") && "\(error)".contains("/c/b")
        }
    }

    @Test func cancellationRemovesTheTransfer() async throws {
        let server = try AzureTestServer { _, _ in .hang }
        defer { server.stop() }
        // Without cancellation the request would hang until this timeout; with it, it ends long before,
        // however loaded the machine is.
        let transport = try CurlTransport(configuration: .init(requestTimeout: .seconds(60)))
        let task = Task {
            try await transport.send(
                HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/", headers: [], maxResponseBytes: 10))
        }
        try await Task.sleep(for: .milliseconds(200))
        let start = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test func requestTimeoutEndsAHungRequest() async throws {
        let server = try AzureTestServer { _, _ in .hang }
        defer { server.stop() }
        let transport = try CurlTransport(configuration: .init(requestTimeout: .milliseconds(300)))
        await #expect {
            try await transport.send(
                HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/", headers: [], maxResponseBytes: 10))
        } throws: { ($0 as? TransportError)?.kind == .outcomeUnknown }
    }

    @Test func busyAnswersAreRetriedAfterRetryAfterAndReSigned() async throws {
        let server = try AzureTestServer { _, index in
            index == 0
                ? .respond(status: 503, headers: [("x-ms-error-code", "ServerBusy"), ("Retry-After", "1")], body: [])
                : .respond(
                    status: 201, headers: [("ETag", "\"0x1\""), ("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")],
                    body: [])
        }
        defer { server.stop() }
        let blobs = try AzureBlobService(
            connectionString: server.connectionString, transport: CurlTransport(),
            configuration: .init(retryPolicy: Self.fast))
        let start = ContinuousClock.now
        let result = try await blobs.createPageBlob(
            BlobAddress(container: "c", name: "b"), size: 512, sequenceNumber: 0, metadata: [:], conditions: .none)
        #expect(result.etag == "\"0x1\"")
        #expect(ContinuousClock.now - start >= .seconds(1))
        let requests = server.requests
        #expect(requests.count == 2)
        #expect(requests[0].headers["authorization"]?.hasPrefix("SharedKey devstoreaccount1:") == true)
        #expect(requests[0].headers["x-ms-date"] != nil && requests[1].headers["x-ms-date"] != nil)
        #expect(requests[0].target == "/devstoreaccount1/c/b")
    }

    @Test func resetConnectionsAreRetriedOnlyForIdempotentRequests() async throws {
        let server = try AzureTestServer { request, _ in
            if request.method == "POST" { return .reset }
            return request.connection == 1
                ? .reset : .respond(status: 200, headers: [("x-ms-approximate-messages-count", "3")], body: [])
        }
        defer { server.stop() }
        let queues = try AzureQueueService(
            connectionString: server.connectionString, transport: CurlTransport(), retryPolicy: Self.fast)
        #expect(try await queues.approximateMessageCount("jobs") == 3)
        #expect(server.requests.count == 2)

        // Put Message is not idempotent: a reset leaves its fate unknown, so it is sent once only. (On a
        // fresh connection: libcurl itself re-sends once a request whose reused connection dies silently.)
        let resetting = try AzureTestServer { _, _ in .reset }
        defer { resetting.stop() }
        let fresh = try AzureQueueService(
            connectionString: resetting.connectionString, transport: CurlTransport(), retryPolicy: Self.fast)
        await #expect {
            try await fresh.putMessage("jobs", text: "once", visibilityTimeout: 0, timeToLive: nil)
        } throws: { ($0 as? StorageError).map { $0.code == .networkError && $0.status == 0 } ?? false }
        #expect(resetting.requests.count == 1)
    }

    @Test func fencedPageWritesBumpTheSequenceNumberBeforeRepeating() async throws {
        let server = try AzureTestServer { request, index in
            if index == 0 { return .reset }
            return .respond(
                status: request.target.contains("comp=page") ? 201 : 200,
                headers: [("ETag", "\"0x2\""), ("x-ms-blob-sequence-number", "7")], body: [])
        }
        defer { server.stop() }
        let blobs = try AzureBlobService(
            connectionString: server.connectionString, transport: CurlTransport(),
            configuration: .init(retryPolicy: Self.fast))
        let blob = BlobAddress(container: "c", name: "b")
        _ = try await blobs.putPages(
            blob, offset: 0, data: [UInt8](repeating: 1, count: 512), checksum: nil,
            conditions: BlobConditions(ifSequenceNumberLessThan: 7))
        let requests = server.requests
        #expect(requests.count == 3)
        #expect(
            requests[1].target.contains("comp=properties")
                && requests[1].headers["x-ms-sequence-number-action"] == "max"
                && requests[1].headers["x-ms-blob-sequence-number"] == "7")
        #expect(requests[2].headers["x-ms-if-sequence-number-lt"] == "8" && requests[2].body.count == 512)

        // Without the fence, an unknown outcome is the caller's to handle.
        let unfenced = try AzureTestServer { _, _ in .reset }
        defer { unfenced.stop() }
        let other = try AzureBlobService(
            connectionString: unfenced.connectionString, transport: CurlTransport(),
            configuration: .init(retryPolicy: Self.fast))
        await #expect {
            try await other.putPages(
                blob, offset: 0, data: [UInt8](repeating: 1, count: 512), checksum: nil, conditions: .none)
        } throws: { ($0 as? StorageError)?.status == 0 }
        #expect(unfenced.requests.count == 1)
        // So it is under `eq`: the same epoch would let the stale copy through; the worker raises it first.
        await #expect {
            try await other.putPages(
                blob, offset: 0, data: [UInt8](repeating: 1, count: 512), checksum: nil,
                conditions: BlobConditions(ifSequenceNumberEqual: 7))
        } throws: { ($0 as? StorageError)?.status == 0 }
        #expect(unfenced.requests.count == 2)
    }
}
