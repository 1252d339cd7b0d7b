import Hummingbird
import NIOCore

/// Hummingbird's basic context plus the connection's channel, through which the responder asks
/// `ExpectContinueHandler` for the interim `100 Continue` once a request is authenticated.
struct StorageRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
