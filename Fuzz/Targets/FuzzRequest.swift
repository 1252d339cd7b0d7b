import Foundation

@testable import RelayDevStoreKit
@testable import RelayShared

/// `request`: the bytes as an HTTP request to relay-devstore (`METHOD TARGET` line, `Name: value`
/// header lines, a blank line, the body), the service chosen by the Host port as the server's ports
/// are (10000 blob, 10001 queue, 10002 table; blob otherwise). The request is routed and
/// authenticated as sent, which parses dates (`x-ms-date`, SAS `st`/`se`), the Authorization header
/// and the SAS; then, signed with the account key, it runs against a local store: ranges, XML and
/// table JSON bodies, `$filter`, `$batch`, every handler.
enum FuzzRequest {
    static let key = [UInt8](Data(base64Encoded: ConnectionString.developmentAccountKey)!)
    static let account: Account = blocking {
        do {
            let store = try LocalStore(path: FuzzScratch.directory + "/store", threads: 2)
            let blob = try await LocalBlobService(store: store)
            let queue = try await LocalQueueService(store: store)
            let table = try await LocalTableService(store: store)
            return Account(
                name: ConnectionString.developmentAccountName, key: key, blob: blob, queue: queue, table: table,
                local: Account.LocalServices(blob: blob, queue: queue, table: table))
        } catch {
            fatalError("relay-fuzz: cannot open the local store: \(error)")
        }
    }

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard var request = parse(Array(bytes)) else { return }
        let port = request.header("host")?.split(separator: ":").last.map(String.init) ?? ""
        let (endpoint, service): (any StorageEndpoint, SharedKeySigner.Service) =
            switch port {
            case "10001": (QueueEndpoint(delay: nil), .blobOrQueue)
            case "10002": (TableEndpoint(), .table)
            default: (BlobEndpoint(), .blobOrQueue)
            }
        let authenticator = RequestAuthenticator()
        guard let route = try? endpoint.route(request) else { return }
        _ = try? authenticator.authenticate(request, account: account, kind: endpoint.kind, route: route)

        // Signed with the key, the request reaches its handler.
        request.headers.removeAll { $0.name == "authorization" || $0.name == "x-ms-date" }
        request.headers.append(("x-ms-date", AzureDate.rfc1123(Date())))
        let signer = SharedKeySigner(account: account.name, key: key)
        let signed = SharedKeySigner.Request(
            method: request.method, path: request.rawPath, query: request.rawQuery, headers: request.headers)
        request.headers.append(("authorization", signer.authorization(for: signed, service: service)))
        do {
            try authenticator.authenticate(request, account: account, kind: endpoint.kind, route: route)
        } catch {
            return
        }
        let ready = request
        blocking {
            do {
                _ = try await route.run(ready, account)
            } catch let error as StorageError {
                _ = StorageResponder.errorResponse(
                    error, kind: endpoint.kind, requestID: "fuzz", isHead: false, request: ready)
            } catch {}
        }
    }

    /// The request in `bytes`, nil when it has no `METHOD TARGET` line.
    static func parse(_ bytes: [UInt8]) -> StorageRequest? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd = bytes.count
        var bodyStart = bytes.count
        if bytes.count >= 4 {
            for index in 0...(bytes.count - 4) where bytes[index..<(index + 4)].elementsEqual(separator) {
                headEnd = index
                bodyStart = index + 4
                break
            }
        }
        let lines = String(decoding: bytes[..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ", omittingEmptySubsequences: true)
        guard requestLine.count >= 2 else { return nil }
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var request = StorageRequest(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers)
        request.body = Array(bytes[bodyStart...])
        return request
    }

    /// Runs async work to completion from libFuzzer's (synchronous, non-Swift-concurrency) thread.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox<T>()
        Task {
            result.value = await body()
            done.signal()
        }
        done.wait()
        return result.value!
    }
}

/// Carries a result from the task to the waiting thread; the semaphore orders the write before the read.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
