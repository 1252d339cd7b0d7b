import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` with an interim `100 Continue`, as Azure does, but only once the
/// responder has authenticated the request from its headers and accepted its announced length: an
/// unauthenticated or oversized upload is refused (403, 413) before its body is invited. Without the
/// interim answer clients that ask (libcurl does for bodies over 1 MiB) wait a second before each large
/// Put Page. Hummingbird does not do it, so this handler sits in its HTTP/1 pipeline, after part
/// decoding; the responder asks for the answer with `channel.triggerUserOutboundEvent(SendContinue())`.
final class ExpectContinueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The responder's request for the interim answer.
    struct SendContinue: Sendable {}

    /// Whether the current request asked for `100 Continue` and has neither had it nor sent body bytes.
    private var expecting = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            expecting = head.headerFields[.expect]?.lowercased() == "100-continue"
        case .body, .end:
            // A client that did not wait needs no invitation any more.
            expecting = false
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is SendContinue else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if expecting {
            expecting = false
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: promise)
        } else {
            promise?.succeed(())
        }
    }
}
