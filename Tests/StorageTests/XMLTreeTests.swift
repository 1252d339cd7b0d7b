import Testing

@testable import RelayShared

/// `XMLTree.parse`, the strict XML reader both sides share: what Azure Storage bodies use is read, and
/// everything else is refused with the byte offset where it starts.
struct XMLTreeTests {
    static func parse(_ text: String) throws(XMLTree.SyntaxError) -> XMLTree { try XMLTree.parse(Array(text.utf8)) }

    @Test func readsWhatAzureBodiesUse() throws {
        let root = try Self.parse(
            "\u{FEFF}<?xml version='1.0' encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<!-- listing -->"
                + "<EnumerationResults ServiceEndpoint=\"http://a/?x=1&amp;y=2\" ContainerName='vhds'>"
                + "<Blobs><Blob><Name>a &lt;&gt;&amp;&apos;&quot; &#65;&#x42;&#x1F600;</Name><x:Tag xmlns:x=\"urn:x\"/>"
                + "<Data><![CDATA[<not> &markup;]]>+more</Data><Empty></Empty><Lines>a\r\nb\rc&#13;</Lines></Blob>"
                + "</Blobs><NextMarker /></EnumerationResults>\n<!-- end -->\n")
        #expect(root.name == "EnumerationResults")
        let blob = try #require(root.child("Blobs")?.child("Blob"))
        #expect(blob.value("Name") == "a <>&'\" AB\u{1F600}")
        #expect(blob.child("x:Tag") == XMLTree(name: "x:Tag", text: "", children: []))
        #expect(blob.value("Data") == "<not> &markup;+more")
        #expect(blob.value("Empty") == "" && root.value("NextMarker") == "")
        // XML reads every line end as LF; only a character reference keeps a CR.
        #expect(blob.value("Lines") == "a\nb\nc\r")
        #expect(try Self.parse("<caf\u{e9} \u{e9}t\u{e9}=\"\u{2713}\">\u{e9}</caf\u{e9}>").text == "\u{e9}")
    }

    /// DTDs, entity declarations and processing instructions are refused outright (where entity bombs
    /// and the inputs that crashed Foundation's XMLParser lived), as are documents that are not well
    /// formed; each error gives the byte offset where the problem starts.
    @Test func refusesWhatIsNotStrictXMLAtItsByteOffset() {
        let cases: [(body: String, offset: Int, reason: String)] = [
            ("<!DOCTYPE q [<!ENTITY e \"x\">]><q>&e;</q>", 0, "document type declaration"),
            ("<q><!ENTITY e \"x\"></q>", 3, "markup declaration"),
            ("<?xml version=\"1.0\"?><?pi data?><q/>", 21, "processing instruction"),
            ("<q><?x?></q>", 3, "processing instruction"),
            (" <?xml version=\"1.0\"?><q/>", 1, "processing instruction"),
            ("<?xml version=\"1.1\"?><q/>", 5, "version"),
            ("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><q/>", 5, "encoding"),
            ("<?xml encoding=\"utf-8\" version=\"1.0\"?><q/>", 5, "version, then"),
            ("<a><b></a>", 6, "</a> closes <b>"),
            ("<a><b></b>", 0, "<a> is not closed"),
            ("<a>x", 0, "<a> is not closed"),
            ("", 0, "no root element"),
            ("  \n", 3, "no root element"),
            ("text<a/>", 0, "text outside"),
            ("<a/><b/>", 4, "after the root"),
            ("<a/>x", 4, "after the root"),
            ("</a>", 1, "a name was expected"),
            ("<a>&undefined;</a>", 3, "entity &undefined; is not defined"),
            ("<a>&#0;</a>", 3, "not a character"),
            ("<a>&#xD800;</a>", 3, "not a character"),
            ("<a>&#x110000;</a>", 3, "not a character"),
            ("<a>&#+65;</a>", 3, "not a character"),
            ("<a>&#x-41;</a>", 3, "not a character"),
            ("<a>& b</a>", 3, "starts no reference"),
            ("<a>\u{1}</a>", 3, "U+1 is not allowed"),
            ("<a>\u{FFFF}</a>", 3, "U+FFFF is not allowed"),
            ("<a x=\"1\" x=\"2\"/>", 9, "attribute x is repeated"),
            ("<a x=\"<\"/>", 6, "< in the value"),
            ("<a x=1/>", 5, "quoted attribute value"),
            ("<a x=\"1\"y=\"2\"/>", 8, "whitespace was expected"),
            ("<a>]]></a>", 3, "]]> outside"),
            ("<a><!-- x -- y --></a>", 10, "--> was expected"),
            ("<a><!-- x</a>", 3, "comment is not closed"),
            ("<a><![CDATA[x</a>", 3, "CDATA section is not closed"),
            ("<1a/>", 1, "a name was expected"),
        ]
        for (body, offset, reason) in cases {
            let error = #expect(throws: XMLTree.SyntaxError.self, "\(body)") { _ = try Self.parse(body) }
            #expect(error?.offset == offset, "\(body): \(error.map { "\($0)" } ?? "")")
            #expect(error?.reason.contains(reason) == true, "\(body): \(error.map { "\($0)" } ?? "")")
        }
        let error = #expect(throws: XMLTree.SyntaxError.self) {
            _ = try XMLTree.parse(Array("<a>".utf8) + [0xC3, 0x28] + Array("</a>".utf8))
        }
        #expect(error?.offset == 3 && error?.reason.contains("UTF-8") == true)
    }

    @Test func depthAndSizeAreBounded() throws {
        let deepest = String(repeating: "<a>", count: XMLTree.maximumDepth) + String(repeating: "</a>", count: 64)
        #expect(try Self.parse(deepest).name == "a")
        let tooDeep = String(repeating: "<a>", count: XMLTree.maximumDepth + 1)
        let error = #expect(throws: XMLTree.SyntaxError.self) { _ = try Self.parse(tooDeep) }
        #expect(error?.offset == 3 * XMLTree.maximumDepth && error?.reason.contains("deeper") == true)
        // Refused before it is read: the largest body either side reads is 64 MiB.
        let large =
            Array("<a>".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: XMLTree.maximumBytes - 6)
            + Array("</a>".utf8)
        let tooLarge = #expect(throws: XMLTree.SyntaxError.self) { _ = try XMLTree.parse(large) }
        #expect(tooLarge?.offset == 0 && tooLarge?.reason.contains("larger than") == true)
    }
}
