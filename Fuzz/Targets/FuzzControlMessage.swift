import RelayShared

/// `control-message`: the bytes as a queue message's text, parsed as the worker's intake parses one;
/// a message that parses must survive its own encoding unchanged.
enum FuzzControlMessage {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let message = try? ControlMessage(parsing: String(decoding: bytes, as: UTF8.self)) else { return }
        guard let again = try? ControlMessage(parsing: message.encoded()), again == message else {
            fatalError("relay-fuzz: a parsed control message does not survive encoding: \(message.encoded())")
        }
    }
}
