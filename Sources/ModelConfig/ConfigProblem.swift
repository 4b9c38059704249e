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

    /// `FILE:LINE: KEY: FIELD: MESSAGE` (warnings say so after the location).
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if severity == .warning { text += "warning: " }
        text += key + ": "
        if let field { text += field + ": " }
        return text + message
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

    /// `PATH: REASON`.
    public var description: String { "\(path): \(reason)" }
}
