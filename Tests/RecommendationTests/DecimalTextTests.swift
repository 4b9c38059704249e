import Foundation
import Testing
@testable import Recommendation

struct DecimalTextTests {
    @Test func numbersAreWrittenExactlyAsPrintfWritesThem() {
        var values: [Double] = [0, 1, -1, 0.5, 0.125, 0.375, 2.675, 1.005, 0.045, -0.004, -0.005, -2.5, 99.995, 1e14 + 0.5, 1e16, 123_456.789, 0.1 + 0.2]
        var state: UInt64 = 42
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let unit = Double(state >> 11) / Double(1 << 53)
            // Spread over magnitudes, halves and hundredths included (ties of the decimal point).
            let magnitude = pow(10, Double(Int(unit * 1000) % 8) - 3)
            values.append((unit - 0.3) * magnitude)
            values.append(Double(Int(unit * 100_000)) / 1000)
        }
        for value in values {
            #expect(DecimalText.format(value, decimals: 2) == Self.printf(value, 2), "\(value)")
            #expect(DecimalText.format(value, decimals: 1) == Self.printf(value, 1), "\(value)")
        }
    }

    static func printf(_ value: Double, _ decimals: Int) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.\(decimals)f", value)
    }
}
