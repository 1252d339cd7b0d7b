import Foundation
import RelayDevStoreKit
import RelayShared
import Testing

/// Put/Update Message bodies: the text of `<MessageText>` with XML escapes undone, extra elements
/// tolerated, malformed XML and entity bombs refused as `400` without blowing up memory.
@Suite(.timeLimit(.minutes(3)))
struct QueueMessageXMLTests {
    @Test func readsTheMessageText() throws {
        let body =
            "<?xml version=\"1.0\"?><QueueMessage><Extra>x</Extra><MessageText>a &lt;b&gt; &amp; \u{e9}</MessageText></QueueMessage>"
        #expect(try QueueEndpoint.messageText(Array(body.utf8)) == "a <b> & \u{e9}")
        #expect(
            try QueueEndpoint.messageText(Array("<QueueMessage><MessageText></MessageText></QueueMessage>".utf8)) == "")
        #expect(try QueueEndpoint.messageText(Array("<QueueMessage></QueueMessage>".utf8)) == nil)
    }

    @Test func refusesMalformedXML() {
        for body in [
            "", "<QueueMessage><MessageText>x</QueueMessage>", "not xml", "<a>&undefined;</a>",
            "<QueueMessage><MessageText>a<b>c</b>d</MessageText></QueueMessage>",
            "<!DOCTYPE q [<!ENTITY e \"x\">]><QueueMessage><MessageText>&e;</MessageText></QueueMessage>",
            "<a></a><b></b>", "<a></b>",
        ] {
            #expect(throws: StorageError.self, "\(body)") { _ = try QueueEndpoint.messageText(Array(body.utf8)) }
        }
    }

    /// Found by fuzzing: an element name that is not UTF-8 made Foundation's XMLParser trap, so one Put
    /// Message killed relay-devstore. Now it is a 400 like any malformed body.
    @Test func elementNamesThatAreNotUTF8AreBadRequests() {
        let body =
            Array("<QueueMessage><Message".utf8) + [0xFF, 0xFE] + Array("Text>x</MessageText></QueueMessage>".utf8)
        let error = #expect(throws: StorageError.self) { _ = try QueueEndpoint.messageText(body) }
        #expect(error?.status == 400)
    }

    @Test func entityBombDoesNotExpand() {
        var doctype = "<!DOCTYPE q [<!ENTITY a0 \"lollollollollollollollollollol\">"
        for level in 1...9 {
            doctype += "<!ENTITY a\(level) \"" + String(repeating: "&a\(level - 1);", count: 10) + "\">"
        }
        doctype += "]>"
        let body = doctype + "<QueueMessage><MessageText>&a9;</MessageText></QueueMessage>"
        // 30 GB if expanded: the parser must refuse it (or at least not expand it into memory).
        let text = try? QueueEndpoint.messageText(Array(body.utf8))
        #expect((text?.utf8.count ?? 0) <= QueueLimits.maxMessageBytes * 16)
    }
}
