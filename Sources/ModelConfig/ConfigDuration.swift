/// A duration written the Go way (`30s`, `5m`, `1h30m`, `1.5h`, `500ms`, `+5m`, `1ns`, `1us`),
/// plus `d` (24h) and `w` (7d), as accepted in the `retention_period` field.
///
/// Held in whole nanoseconds, like Go's `time.Duration`, so every value `time.ParseDuration`
/// produces is kept exactly (`1ns` is 1 ns, not rounded to a millisecond).
public struct ConfigDuration: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The duration in nanoseconds (negative only when parsed from a `-` sign; callers reject it).
    public let nanoseconds: Int64

    /// Creates a duration from nanoseconds.
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// Creates a duration from milliseconds.
    public init(milliseconds: Int64) { self.nanoseconds = milliseconds * 1_000_000 }

    /// Creates a duration from seconds.
    public init(seconds: Int64) { self.nanoseconds = seconds * 1_000_000_000 }

    /// The duration in whole milliseconds, rounded up (a positive sub-millisecond duration is 1 ms).
    public var milliseconds: Int64 {
        let (quotient, remainder) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000)
        return remainder > 0 ? quotient + 1 : quotient
    }

    /// The duration in seconds.
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    /// True when the duration is longer than zero.
    public var isPositive: Bool { nanoseconds > 0 }

    /// The duration in Prometheus range syntax (`5m`, `1h30m`, `1m30s`, `500ms`).
    ///
    /// Prometheus ranges stop at milliseconds, so a duration with a sub-millisecond part renders
    /// rounded **up** to the next millisecond (`1ns` → `1ms`, `1500us` → `2ms`, `1s1ns` → `1s1ms`):
    /// the query never looks at less history than configured. The decision itself uses the exact
    /// value (``seconds``).
    public var prometheusRange: String {
        var remaining = milliseconds
        if remaining <= 0 { return "0s" }
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

    /// Orders by length.
    public static func < (lhs: ConfigDuration, rhs: ConfigDuration) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    /// Nanoseconds per unit: Go's `time.ParseDuration` units, plus `d` and `w`.
    private static func unitNanoseconds(_ unit: ArraySlice<UInt8>) -> UInt64? {
        switch Array(unit) {
        case Array("ns".utf8): 1
        case Array("us".utf8), Array("µs".utf8), Array("μs".utf8): 1_000  // U+00B5 micro sign, U+03BC mu
        case Array("ms".utf8): 1_000_000
        case Array("s".utf8): 1_000_000_000
        case Array("m".utf8): 60_000_000_000
        case Array("h".utf8): 3_600_000_000_000
        case Array("d".utf8): 86_400_000_000_000
        case Array("w".utf8): 604_800_000_000_000
        default: nil
        }
    }

    /// Parses exactly what Go's `time.ParseDuration` accepts, with the same value to the
    /// nanosecond, plus the units `d` and `w`: an optional sign, then one or more
    /// `[0-9]*(.[0-9]*)?unit` parts (`+5m`, `1h2m3.5s`, `.5s`, `1.s`, `0`). Returns nil for
    /// anything Go rejects (no unit, an unknown unit, surrounding spaces, overflow past ~292 years).
    /// Zero and negative values are returned; callers reject them.
    ///
    /// The arithmetic follows Go's `src/time/format.go` step by step (unsigned accumulation,
    /// the fraction as `float64(f) * (float64(unit) / scale)` truncated), so fractional values
    /// round exactly as WVA's parser rounds them.
    public static func parse(_ text: String) -> ConfigDuration? {
        let bytes = Array(text.utf8)
        var index = 0
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            index = 1
        }
        if bytes.count - index == 1, bytes[index] == UInt8(ascii: "0") { return ConfigDuration(nanoseconds: 0) }
        guard index < bytes.count else { return nil }

        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        let limit: UInt64 = 1 << 63
        var total: UInt64 = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: ".") || isDigit(bytes[index]) else { return nil }
            // Integer part: [0-9]*, failing on overflow.
            var whole: UInt64 = 0
            let wholeStart = index
            while index < bytes.count, isDigit(bytes[index]) {
                guard whole <= limit / 10 else { return nil }
                whole = whole * 10 + UInt64(bytes[index] - UInt8(ascii: "0"))
                guard whole <= limit else { return nil }
                index += 1
            }
            let hasWhole = index != wholeStart
            // Fraction: (.[0-9]*)?, keeping the digits that fit and ignoring the rest.
            var fraction: UInt64 = 0
            var scale: Double = 1
            var hasFraction = false
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                let fractionStart = index
                var overflow = false
                while index < bytes.count, isDigit(bytes[index]) {
                    defer { index += 1 }
                    if overflow { continue }
                    guard fraction <= (limit - 1) / 10 else { overflow = true; continue }
                    let next = fraction * 10 + UInt64(bytes[index] - UInt8(ascii: "0"))
                    guard next <= limit else { overflow = true; continue }
                    fraction = next
                    scale *= 10
                }
                hasFraction = index != fractionStart
            }
            guard hasWhole || hasFraction else { return nil }
            // Unit: every byte up to the next digit or dot.
            let unitStart = index
            while index < bytes.count, !(bytes[index] == UInt8(ascii: ".") || isDigit(bytes[index])) { index += 1 }
            guard index != unitStart, let unit = unitNanoseconds(bytes[unitStart..<index]) else { return nil }
            guard whole <= limit / unit else { return nil }
            var value = whole * unit
            if fraction > 0 {
                value &+= UInt64(Double(fraction) * (Double(unit) / scale))
                guard value <= limit else { return nil }
            }
            total &+= value  // Go's uint64 addition wraps the same way
            guard total <= limit else { return nil }
        }
        if negative { return ConfigDuration(nanoseconds: Int64(truncatingIfNeeded: 0 &- total)) }
        guard total <= limit - 1 else { return nil }
        return ConfigDuration(nanoseconds: Int64(total))
    }
}
