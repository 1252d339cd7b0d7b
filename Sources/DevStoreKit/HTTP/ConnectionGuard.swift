import Foundation
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Time and number limits of one port's connections, so that idle, half-sent or slow requests cannot
/// hold the server's file descriptors: signed clients keep being served.
public struct ConnectionLimits: Sendable {
    /// A connection that reads nothing for this long is closed (Hummingbird's idle timeout).
    public var idleTimeout: TimeAmount = .seconds(30)
    /// A request's head must arrive within this of the connection opening (or of the previous answer),
    /// and its body within this of its head, however slowly the bytes drip.
    public var requestTimeout: TimeAmount = .seconds(120)
    /// Connections beyond this on one port close the one idle the longest (never one mid-request, unless
    /// all are).
    public var maximumConnections: Int

    /// `maximumConnections` from the process's descriptor limit: a quarter each for the three ports, the
    /// rest for the stores' files.
    public init() {
        var limit = rlimit()
        let descriptors = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Int(clamping: limit.rlim_cur) : 1024
        maximumConnections = max(8, (descriptors - 128) / 4)
    }
}

/// The connections of one port, shared by their `ConnectionGuardHandler`s.
final class ConnectionRegistry: Sendable {
    private struct Entry {
        var channel: any Channel
        var busy: Bool
        var idleSince: ContinuousClock.Instant
    }

    let limits: ConnectionLimits
    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    init(limits: ConnectionLimits) { self.limits = limits }

    /// Registers `channel`; over the limit, closes the connection idle the longest.
    func add(_ channel: any Channel) {
        let victim = entries.withLock { entries -> (any Channel)? in
            entries[ObjectIdentifier(channel)] = Entry(channel: channel, busy: false, idleSince: .now)
            guard entries.count > limits.maximumConnections else { return nil }
            let idle = entries.values.filter { !$0.busy }
            let candidates = idle.isEmpty ? Array(entries.values) : idle
            guard let oldest = candidates.min(by: { $0.idleSince < $1.idleSince }) else { return nil }
            entries[ObjectIdentifier(oldest.channel)] = nil
            return oldest.channel
        }
        victim?.close(promise: nil)
    }

    func remove(_ channel: any Channel) {
        _ = entries.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    func setBusy(_ channel: any Channel, _ busy: Bool) {
        entries.withLock { entries in
            entries[ObjectIdentifier(channel)]?.busy = busy
            if !busy { entries[ObjectIdentifier(channel)]?.idleSince = .now }
        }
    }
}

/// Per connection: registers it, and closes it when a request's head or body misses its deadline.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let registry: ConnectionRegistry
    private var deadline: Scheduled<Void>?

    init(registry: ConnectionRegistry) { self.registry = registry }

    func handlerAdded(context: ChannelHandlerContext) {
        registry.add(context.channel)
        arm(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        registry.remove(context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        registry.remove(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            registry.setBusy(context.channel, true)
            arm(context)  // now for the body
        case .end:
            deadline?.cancel()  // the answer may take as long as it takes (large reads stream)
            deadline = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            registry.setBusy(context.channel, false)
            arm(context)  // for the next request's head
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: registry.limits.requestTimeout) { channel.close(promise: nil) }
    }
}
