/// One thing wrong (or worth a warning) in a model ConfigMap: where it is and what was expected.
///
/// Rendered as `FILE:LINE: KEY: FIELD: MESSAGE`, the form `check-config` prints and the service logs.
public struct ConfigProblem: Sendable, Hashable, CustomStringConvertible, Error {
    /// How serious a problem is.
    public enum Severity: String, Sendable, Hashable {
        /// The entry is rejected.
        case error
        /// The entry is used, but something in it deserves attention.
        case warning
    }

    /// Error or warning.
    public let severity: Severity
    /// The file the entry came from (a ConfigMap volume file, a data file or a manifest).
    public let file: String
    /// The ConfigMap key of the entry (`default`, `global`, or an override's key).
    public let key: String
    /// The field inside the entry, or nil when the whole entry is at fault.
    public let field: String?
    /// The 1-based line in ``file``, when known.
    public let line: Int?
    /// What is wrong and what was expected.
    public let message: String

    /// Creates a problem report.
    public init(
        _ severity: Severity, file: String, key: String, field: String?, line: Int?, message: String
    ) {
        self.severity = severity
        self.file = file
        self.key = key
        self.field = field
        self.line = line
        self.message = message
    }

    /// `FILE:LINE: KEY: FIELD: MESSAGE` (warnings say so after the location), always one line:
    /// line breaks and other control characters from the ConfigMap (a quoted key, a multi-line
    /// scalar quoted back in a message) are shown escaped, `\n`, `\r`, `\t`, `\u{1b}`.
    public var description: String {
        var text = Self.printable(file)
        if let line { text += ":\(line)" }
        text += ": "
        if severity == .warning { text += "warning: " }
        text += Self.printable(key) + ": "
        if let field { text += Self.printable(field) + ": " }
        return text + Self.printable(message)
    }

    /// `text` with control characters escaped, so that it stays on one line.
    static func printable(_ text: String) -> String {
        let isControl = { (scalar: Unicode.Scalar) in
            scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"
        }
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isControl(scalar): out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// Input that cannot be read at all (missing path, unreadable file, not a ConfigMap).
public struct ConfigSourceError: Error, Sendable, CustomStringConvertible {
    /// The path that could not be read.
    public let path: String
    /// Why.
    public let reason: String

    /// Creates the error.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// `PATH: REASON`, on one line.
    public var description: String { ConfigProblem.printable("\(path): \(reason)") }
}
