/// One token of a hitch.conf file, with the line it starts on.
struct ConfigToken: Equatable {
    enum Kind: Equatable {
        /// Unquoted text: a key, a number, a boolean, a protocol name, a path.
        case word(String)
        /// A double-quoted string, quotes removed and escapes resolved.
        case quoted(String)
        case equals
        case openBrace
        case closeBrace
    }

    var kind: Kind
    var line: Int

    /// As a message shows what was found.
    var display: String {
        switch kind {
        case .word(let text): text.quotedForMessage
        case .quoted(let text): "the string \(text.quotedForMessage)"
        case .equals: "\"=\""
        case .openBrace: "\"{\""
        case .closeBrace: "\"}\""
        }
    }
}

/// Splits hitch.conf text into tokens, as hitch's lexer does: `#` starts a comment to the end of the line, newlines
/// are only whitespace, `=`, `{` and `}` stand alone, and values are quoted strings or unquoted words.
///
/// Differences, where hitch is silently lenient or loses text: an unquoted word is any run of characters other than
/// whitespace and `=` `{` `}` `"` `#` (hitch takes letters, digits and `-`, and drops other characters without a word),
/// a quoted string must end on its line, and inside one `\"` and `\\` stand for `"` and `\` (hitch keeps the
/// backslash and cuts the string at the escaped quote); any other backslash is kept as written, as in hitch.
enum ConfigFileLexer {
    static func tokens(in text: String, path: String) throws(SettingsError) -> [ConfigToken] {
        var tokens: [ConfigToken] = []
        var line = 1
        var characters = text[...]
        while let character = characters.first {
            switch character {
            case _ where character.isNewline:
                line += 1
                characters.removeFirst()
            case _ where character.isWhitespace:
                characters.removeFirst()
            case "#":
                characters = characters.drop { !$0.isNewline }
            case "=", "{", "}":
                let kind: ConfigToken.Kind = character == "=" ? .equals : (character == "{" ? .openBrace : .closeBrace)
                tokens.append(ConfigToken(kind: kind, line: line))
                characters.removeFirst()
            case "\"":
                characters.removeFirst()
                let string = try quotedString(&characters, path: path, line: line)
                tokens.append(ConfigToken(kind: .quoted(string), line: line))
            default:
                let word = characters.prefix { !$0.isWhitespace && !"={}\"#".contains($0) }
                tokens.append(ConfigToken(kind: .word(String(word)), line: line))
                characters = characters.dropFirst(word.count)
            }
        }
        return tokens
    }

    /// The rest of a quoted string after its opening quote; consumes the closing quote.
    private static func quotedString(
        _ characters: inout Substring, path: String, line: Int
    ) throws(SettingsError) -> String {
        var string = ""
        while let character = characters.popFirst(), !character.isNewline {
            if character == "\"" { return string }
            if character == "\\", let next = characters.first, next == "\"" || next == "\\" {
                string.append(characters.removeFirst())
            } else {
                string.append(character)
            }
        }
        throw SettingsError(
            .configFile(path: path, line: line), "expected a closing \" on the line of the opening one, found none")
    }
}
