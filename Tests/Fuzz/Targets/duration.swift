// libFuzzer target: ConfigDuration.parse (Go's time.ParseDuration plus d and w).
// Built by scripts/fuzz together with Sources/ModelConfig/ConfigDuration.swift.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDuration(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let duration = ConfigDuration.parse(text) else { return 0 }
    // A parsed duration renders as a Prometheus range (milliseconds, rounded up) that parses back
    // to exactly those milliseconds; `y` (365d) is the one range unit parse does not take.
    if duration.nanoseconds > 0, duration.milliseconds < 365 * 86_400_000 {
        let range = duration.prometheusRange
        guard let back = ConfigDuration.parse(range), back.nanoseconds == duration.milliseconds * 1_000_000 else {
            fatalError("range \(range) of \(text) does not parse back to \(duration.milliseconds) ms")
        }
    }
    // Rounding up never loses time; seconds agree with nanoseconds.
    let (roundedUp, overflow) = duration.milliseconds.multipliedReportingOverflow(by: 1_000_000)
    precondition(overflow || roundedUp >= duration.nanoseconds)
    precondition(duration.seconds == Double(duration.nanoseconds) / 1e9)
    // The same text parses to the same value.
    precondition(ConfigDuration.parse(text) == duration)
    return 0
}
