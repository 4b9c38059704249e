/// A positive duration written the Go way (`30s`, `5m`, `1h30m`, `1.5h`, `500ms`), plus `d` (24h)
/// and `w` (7d), as accepted in the `retention_period` field.
public struct ConfigDuration: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The duration in whole milliseconds (Prometheus' resolution; finer input is rounded up).
    public let milliseconds: Int64

    /// Creates a duration from milliseconds.
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// Creates a duration from seconds.
    public init(seconds: Int64) { self.milliseconds = seconds * 1000 }

    /// The duration in seconds.
    public var seconds: Double { Double(milliseconds) / 1000 }

    /// The duration in Prometheus range syntax, equal to this duration (`5m`, `1h30m`, `1m30s`).
    public var prometheusRange: String {
        var remaining = milliseconds
        if remaining == 0 { return "0s" }
        var text = ""
        let units: [(String, Int64)] = [
            ("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000),
            ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
        ]
        for (suffix, size) in units where remaining >= size {
            text += "\(remaining / size)\(suffix)"
            remaining %= size
        }
        return text
    }

    /// Same as ``prometheusRange``.
    public var description: String { prometheusRange }

    public static func < (lhs: ConfigDuration, rhs: ConfigDuration) -> Bool {
        lhs.milliseconds < rhs.milliseconds
    }

    /// Parses Go duration syntax plus `d` and `w`. Returns nil for anything else, including a
    /// missing unit (`15`), a sign, or an empty string. Zero is parsed; callers reject it.
    public static func parse(_ text: String) -> ConfigDuration? {
        let unitNanos: [String: Double] = [
            "ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9,
            "d": 86_400e9, "w": 604_800e9,
        ]
        let scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty else { return nil }
        var index = 0
        var totalNanos: Double = 0
        while index < scalars.count {
            var number = ""
            while index < scalars.count, scalars[index] == "." || ("0"..."9").contains(scalars[index]) {
                number.unicodeScalars.append(scalars[index])
                index += 1
            }
            var unit = ""
            while index < scalars.count, !(scalars[index] == "." || ("0"..."9").contains(scalars[index])) {
                unit.unicodeScalars.append(scalars[index])
                index += 1
            }
            guard !number.isEmpty, number != ".", number.filter({ $0 == "." }).count <= 1,
                let value = Double(number), let size = unitNanos[unit]
            else { return nil }
            totalNanos += value * size
        }
        guard totalNanos.isFinite, totalNanos < 9.2e18 else { return nil }
        let millis = (totalNanos / 1e6).rounded(.up)
        return ConfigDuration(milliseconds: Int64(millis))
    }
}
