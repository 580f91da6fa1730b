/// `key = value` as written in a config file, before the key is looked up.
struct ConfigAssignment: Equatable {
    enum Value: Equatable {
        /// One or more words or quoted strings on one line (`tls-protos = TLSv1.2 TLSv1.3` has two).
        case text([String])
        /// `{ ... }` holding assignments of its own (frontend and pem-file blocks).
        case block([ConfigAssignment])
    }

    var key: String
    var line: Int
    var value: Value
}

/// hitch.conf's grammar over the lexer's tokens: a sequence of `key = value`, where the value is a `{ }` block of
/// assignments or text. As in hitch, line breaks carry no meaning between assignments
/// (`ciphers = "HIGH" backlog = 10` is two); the text of a value ends at the end of its line or where the next
/// `key =` starts.
struct ConfigFileSyntax {
    private let tokens: [ConfigToken]
    private let path: String
    private var position = 0

    /// The file's assignments, in order.
    static func assignments(in tokens: [ConfigToken], path: String) throws(SettingsError) -> [ConfigAssignment] {
        var syntax = ConfigFileSyntax(tokens: tokens, path: path)
        return try syntax.assignments(closingBlockOpenedOn: nil)
    }

    private init(tokens: [ConfigToken], path: String) {
        self.tokens = tokens
        self.path = path
    }

    /// Assignments up to the end of the file, or up to the `}` of a block opened on `openingLine`.
    private mutating func assignments(closingBlockOpenedOn openingLine: Int?) throws(SettingsError)
        -> [ConfigAssignment]
    {
        var result: [ConfigAssignment] = []
        while true {
            guard let token = peek() else {
                if let openingLine {
                    throw error(
                        line: openingLine, "expected \"}\" to close the block opened here, found the end of the file")
                }
                return result
            }
            position += 1
            switch token.kind {
            case .closeBrace where openingLine != nil:
                return result
            case .word(let key):
                result.append(try assignment(key, line: token.line))
            default:
                throw error(line: token.line, "expected a setting name, found \(token.display)")
            }
        }
    }

    /// The rest of `key = value` after the key.
    private mutating func assignment(_ key: String, line: Int) throws(SettingsError) -> ConfigAssignment {
        guard let equals = peek(), equals.kind == .equals else {
            throw error(line: line, "expected \"=\" after \(key), found \(display(peek()))")
        }
        position += 1
        guard let first = peek(), !startsAssignment(at: position) else {
            throw error(
                line: line,
                "\(key): expected a value, found \(peek().map { "\($0.display) =" } ?? "the end of the file")")
        }
        position += 1
        switch first.kind {
        case .openBrace:
            return ConfigAssignment(
                key: key, line: line, value: .block(try assignments(closingBlockOpenedOn: first.line)))
        case .word(let text), .quoted(let text):
            var words = [text]
            while let next = peek(), next.line == first.line, let word = next.text, !startsAssignment(at: position) {
                words.append(word)
                position += 1
            }
            return ConfigAssignment(key: key, line: line, value: .text(words))
        case .equals, .closeBrace:
            throw error(line: first.line, "\(key): expected a value, found \(first.display)")
        }
    }

    /// Whether the tokens at `index` are `word =`.
    private func startsAssignment(at index: Int) -> Bool {
        guard index + 1 < tokens.count, case .word = tokens[index].kind else { return false }
        return tokens[index + 1].kind == .equals
    }

    private func peek() -> ConfigToken? { position < tokens.count ? tokens[position] : nil }

    private func display(_ token: ConfigToken?) -> String { token?.display ?? "the end of the file" }

    private func error(line: Int, _ message: String) -> SettingsError {
        SettingsError(.configFile(path: path, line: line), message)
    }
}

extension ConfigToken {
    /// The text of a word or quoted string; nil for punctuation.
    fileprivate var text: String? {
        switch kind {
        case .word(let text), .quoted(let text): text
        case .equals, .openBrace, .closeBrace: nil
        }
    }
}
