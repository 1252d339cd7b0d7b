/// XML text for the bodies the Azure backend and relay-devstore write.
public enum XMLText {
    public static let declaration = "<?xml version=\"1.0\" encoding=\"utf-8\"?>"

    /// Escapes text for an XML element's content or an attribute value.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // A literal CR would be normalised to LF by the reader's XML parser.
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}
