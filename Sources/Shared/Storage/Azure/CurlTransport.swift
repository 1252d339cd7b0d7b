import CCurl
import Foundation
import Synchronization

/// HTTP over libcurl: one curl multi handle driven by ONE dedicated thread, so that many requests are in
/// flight at once, connections are kept and reused across requests (the multi handle's connection cache),
/// and no blocking call ever runs on Swift's cooperative pool.
///
/// `send` hands the request to the thread through a lock-protected inbox and `curl_multi_wakeup`; the
/// thread resumes the caller's continuation when the transfer completes. Cancelling the calling task
/// removes the transfer from the multi handle and throws `CancellationError`.
public final class CurlTransport: HTTPTransport {
    public struct Configuration: Sendable {
        /// Time to establish a connection (TCP and TLS).
        public var connectTimeout: Duration
        /// Time for a whole request, from submission to the last byte of the response.
        public var requestTimeout: Duration
        /// Connections opened to one host at most; further requests wait inside libcurl for a free one.
        public var maxConnectionsPerHost: Int

        public init(
            connectTimeout: Duration = .seconds(10), requestTimeout: Duration = .seconds(120),
            maxConnectionsPerHost: Int = 64
        ) {
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.maxConnectionsPerHost = maxConnectionsPerHost
        }
    }

    private let loop: CurlMultiLoop
    private let nextID = Atomic<UInt64>(1)

    public init(configuration: Configuration = .init()) throws {
        loop = try CurlMultiLoop(configuration: configuration)
        let loop = self.loop
        let thread = Thread { loop.run() }
        thread.name = "relay-curl"
        thread.start()
    }

    /// Stops the thread once the requests still in flight are failed with `CancellationError`.
    deinit { loop.stop() }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = CurlTransfer(id: nextID.add(1, ordering: .relaxed).oldValue, request: request)
        let loop = self.loop
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.continuation = continuation
                // Submitting under the phase lock orders it before any cancellation of the same transfer.
                let submitted = transfer.phase.withLock { phase in
                    guard phase == .created else { return false }
                    phase = .submitted
                    loop.submit(transfer)
                    return true
                }
                if !submitted { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            transfer.phase.withLock { phase in
                if phase == .submitted { loop.cancel(transfer.id) }
                phase = .cancelled
            }
        }
    }
}

/// A request's life as seen by `send` and its cancellation handler.
enum CurlTransferPhase: Sendable {
    case created, submitted, cancelled
}

/// One request in flight. After submission it is touched only by the loop thread (and libcurl's callbacks
/// on that thread); `phase` is the only state shared with the submitting task, and it has its own lock.
final class CurlTransfer: @unchecked Sendable {
    let id: UInt64
    let request: HTTPRequest
    let phase = Mutex(CurlTransferPhase.created)
    /// Set before submission, read by the loop thread after it (the inbox lock orders the two).
    var continuation: CheckedContinuation<HTTPResponse, any Error>?
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    /// The request body in memory libcurl reads from; it must outlive the transfer.
    var bodyBuffer: UnsafeMutableRawBufferPointer?
    var responseHeaders: [(name: String, value: String)] = []
    var responseBody: [UInt8] = []
    var responseTooLarge = false

    init(id: UInt64, request: HTTPRequest) {
        self.id = id
        self.request = request
    }

    func finish(_ result: Result<HTTPResponse, any Error>) {
        if let headerList { curl_slist_free_all(headerList) }
        headerList = nil
        bodyBuffer?.deallocate()
        bodyBuffer = nil
        continuation?.resume(with: result)
        continuation = nil
    }
}

/// The multi handle and the loop that drives it. `run()` executes on the dedicated thread; `submit`,
/// `cancel` and `stop` may be called from any thread and only touch the locked inbox.
final class CurlMultiLoop: @unchecked Sendable {
    private struct Inbox {
        var submissions: [CurlTransfer] = []
        var cancellations: [UInt64] = []
        var stopping = false
    }

    private let configuration: CurlTransport.Configuration
    private let multi: UnsafeMutableRawPointer
    private let inbox = Mutex(Inbox())
    // Loop-thread state.
    private var transfers: [UInt64: CurlTransfer] = [:]
    private var idByHandle: [UnsafeMutableRawPointer: UInt64] = [:]
    /// Easy handles kept for reuse (they keep TLS session and DNS caches).
    private var idleHandles: [UnsafeMutableRawPointer] = []

    init(configuration: CurlTransport.Configuration) throws {
        _ = curlGlobalInit
        guard let multi = curl_multi_init() else {
            throw TransportError(kind: .notSent, curlCode: 0, message: "curl_multi_init failed (out of memory?)")
        }
        self.configuration = configuration
        self.multi = multi
        _ = CCurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
        _ = CCurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.maxConnectionsPerHost)
    }

    func submit(_ transfer: CurlTransfer) {
        inbox.withLock { $0.submissions.append(transfer) }
        curl_multi_wakeup(multi)
    }

    func cancel(_ id: UInt64) {
        inbox.withLock { $0.cancellations.append(id) }
        curl_multi_wakeup(multi)
    }

    func stop() {
        inbox.withLock { $0.stopping = true }
        curl_multi_wakeup(multi)
    }

    func run() {
        while true {
            let (submissions, cancellations, stopping) = inbox.withLock { inbox in
                defer {
                    inbox.submissions = []
                    inbox.cancellations = []
                }
                return (inbox.submissions, inbox.cancellations, inbox.stopping)
            }
            for transfer in submissions { start(transfer) }
            for id in cancellations { abandon(id, with: CancellationError()) }
            if stopping {
                for id in Array(transfers.keys) { abandon(id, with: CancellationError()) }
                idleHandles.forEach { curl_easy_cleanup($0) }
                idleHandles = []
                curl_multi_cleanup(multi)
                return
            }
            var running: Int32 = 0
            _ = curl_multi_perform(multi, &running)
            collectCompletions()
            _ = curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }

    private func start(_ transfer: CurlTransfer) {
        guard let easy = idleHandles.popLast() ?? curl_easy_init() else {
            transfer.finish(
                .failure(TransportError(kind: .notSent, curlCode: 0, message: "curl_easy_init failed (out of memory?)"))
            )
            return
        }
        curl_easy_reset(easy)
        transfer.easy = easy
        let code = configure(easy, for: transfer)
        guard code == CURLE_OK, curl_multi_add_handle(multi, easy) == CURLM_OK else {
            idleHandles.append(easy)
            transfer.finish(
                .failure(
                    TransportError(
                        kind: .notSent, curlCode: Int(code.rawValue),
                        message:
                            "cannot set up the request to \(transfer.request.urlWithoutQuery): \(Self.describe(code))"))
            )
            return
        }
        transfers[transfer.id] = transfer
        idByHandle[easy] = transfer.id
    }

    private func configure(_ easy: UnsafeMutableRawPointer, for transfer: CurlTransfer) -> CURLcode {
        let request = transfer.request
        var codes: [CURLcode] = []
        codes.append(CCurl_setopt_string(easy, CURLOPT_URL, request.url))
        codes.append(CCurl_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        codes.append(
            CCurl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(configuration.connectTimeout)))
        codes.append(CCurl_setopt_long(easy, CURLOPT_TIMEOUT_MS, Self.milliseconds(configuration.requestTimeout)))
        codes.append(CCurl_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1))
        codes.append(CCurl_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2))
        codes.append(CCurl_setopt_long(easy, CURLOPT_TCP_NODELAY, 1))
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        codes.append(CCurl_setopt_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteBody))
        codes.append(CCurl_setopt_pointer(easy, CURLOPT_WRITEDATA, context))
        codes.append(CCurl_setopt_callback(easy, CURLOPT_HEADERFUNCTION, curlWriteHeader))
        codes.append(CCurl_setopt_pointer(easy, CURLOPT_HEADERDATA, context))

        switch request.method {
        case "GET":
            codes.append(CCurl_setopt_long(easy, CURLOPT_HTTPGET, 1))
        case "HEAD":
            codes.append(CCurl_setopt_long(easy, CURLOPT_NOBODY, 1))
        case "DELETE" where request.body.isEmpty:
            codes.append(CCurl_setopt_string(easy, CURLOPT_CUSTOMREQUEST, "DELETE"))
        default:
            // Every write sends a Content-Length, 0 included (Azure answers 411 without one): libcurl's
            // POST mode with an explicit size does that; the verb is then set as a custom request.
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(request.body.count, 1), alignment: 1)
            buffer.copyBytes(from: request.body)
            transfer.bodyBuffer = buffer
            codes.append(CCurl_setopt_long(easy, CURLOPT_POST, 1))
            codes.append(CCurl_setopt_offset(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            codes.append(CCurl_setopt_pointer(easy, CURLOPT_POSTFIELDS, buffer.baseAddress))
            if request.method != "POST" {
                codes.append(CCurl_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method))
            }
        }

        var list: UnsafeMutablePointer<curl_slist>?
        for header in request.headers {
            // "Name;" is libcurl's spelling of a header with an empty value.
            list = curl_slist_append(list, header.value.isEmpty ? "\(header.name);" : "\(header.name): \(header.value)")
        }
        // Without these, libcurl would add a form Content-Type to bodyless writes (which the signature does
        // not cover) and wait for `100 Continue` before large bodies.
        if !request.headers.contains(where: { $0.name.lowercased() == "content-type" }) {
            list = curl_slist_append(list, "Content-Type:")
        }
        list = curl_slist_append(list, "Expect:")
        transfer.headerList = list
        codes.append(CCurl_setopt_pointer(easy, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(list)))
        return codes.first { $0 != CURLE_OK } ?? CURLE_OK
    }

    private func collectCompletions() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                let id = idByHandle[easy], let transfer = transfers[id]
            else { continue }
            let result = CCurl_msg_result(message)
            detach(transfer)
            if result == CURLE_OK {
                var status = 0
                _ = CCurl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
                transfer.finish(
                    .success(
                        HTTPResponse(status: status, headers: transfer.responseHeaders, body: transfer.responseBody)))
            } else {
                transfer.finish(.failure(Self.error(result, transfer: transfer)))
            }
        }
    }

    private func abandon(_ id: UInt64, with error: any Error) {
        guard let transfer = transfers[id] else { return }
        detach(transfer)
        transfer.finish(.failure(error))
    }

    private func detach(_ transfer: CurlTransfer) {
        transfers[transfer.id] = nil
        guard let easy = transfer.easy else { return }
        idByHandle[easy] = nil
        curl_multi_remove_handle(multi, easy)
        idleHandles.append(easy)
        transfer.easy = nil
    }

    private static func error(_ code: CURLcode, transfer: CurlTransfer) -> TransportError {
        let url = transfer.request.urlWithoutQuery
        if transfer.responseTooLarge {
            return TransportError(
                kind: .responseTooLarge, curlCode: Int(code.rawValue),
                message:
                    "\(transfer.request.method) \(url): the response body is larger than the \(transfer.request.maxResponseBytes) bytes allowed"
            )
        }
        let kind: TransportError.Kind =
            switch code {
            case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT,
                CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
                .notSent
            default:
                .outcomeUnknown
            }
        return TransportError(
            kind: kind, curlCode: Int(code.rawValue), message: "\(transfer.request.method) \(url): \(describe(code))")
    }

    static func describe(_ code: CURLcode) -> String {
        curl_easy_strerror(code).map { String(cString: $0) } ?? "curl error \(code.rawValue)"
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}

/// libcurl's process-wide initialisation, run once (Swift initialises globals lazily and exactly once).
private let curlGlobalInit: Void = { _ = curl_global_init(Int(CURL_GLOBAL_ALL)) }()

/// CURLOPT_WRITEFUNCTION: appends to the transfer's body, refusing (which fails the transfer) past its bound.
private func curlWriteBody(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    guard transfer.responseBody.count + length <= transfer.request.maxResponseBytes else {
        transfer.responseTooLarge = true
        return 0
    }
    if let data, length > 0 {
        transfer.responseBody.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
    }
    return length
}

/// CURLOPT_HEADERFUNCTION: one header line per call; a status line starts a new response (100 Continue).
private func curlWriteHeader(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    guard let context, let data else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        transfer.responseHeaders = []
    } else if let colon = line.firstIndex(of: ":"), transfer.responseHeaders.count < 200 {
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        transfer.responseHeaders.append((name: name, value: value))
    }
    return length
}
