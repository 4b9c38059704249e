import Foundation
import Logging
import Synchronization

/// Log line formats.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `ts=… level=info msg="decision changed" model=… reason=…`
    case logfmt
    /// One JSON object per line.
    case json
}

/// A swift-log handler writing logfmt or JSON lines to standard error.
public struct LineLogHandler: LogHandler {
    /// The handler's metadata.
    public var metadata: Logger.Metadata = [:]
    /// The minimum level.
    public var logLevel: Logger.Level
    private let format: LogFormat
    private let label: String

    /// Creates a handler.
    public init(label: String, format: LogFormat, level: Logger.Level) {
        self.label = label
        self.format = format
        self.logLevel = level
    }

    /// Handler metadata access.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    private static let lock = Mutex(())

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("ts", Date().formatted(.iso8601.year().month().day().timeSeparator(.colon).time(includingFractionalSeconds: true)) + "Z"),
            ("level", event.level.rawValue), ("msg", event.message.description),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() { fields.append((key, "\(merged[key]!)")) }
        let line: String
        switch format {
        case .logfmt:
            line = fields.map { "\($0.0)=\(logfmtEscaped($0.1))" }.joined(separator: " ")
        case .json:
            line = "{" + fields.map { "\(Self.jsonString($0.0)):\(Self.jsonString($0.1))" }.joined(separator: ",") + "}"
        }
        Self.lock.withLock { _ in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }

    static func jsonString(_ value: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [value], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        let array = String(decoding: data, as: UTF8.self)
        return String(array.dropFirst().dropLast())
    }
}
