import Foundation

/// Numbers in decision details: whole numbers as integers, others with a fixed number of decimals,
/// exactly as `String(format: "%.Nf")` writes them, without its cost (the format call parses the
/// format and boxes its argument: a backtest writes tens of millions of details).
enum DecimalText {
    /// `3`, `0.75` (decimals 2), `2.5` (decimals 1).
    static func format(_ value: Double, decimals: Int) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        let scale = decimals == 1 ? 10.0 : decimals == 2 ? 100.0 : pow(10, Double(decimals))
        let scaled = abs(value) * scale
        let rounded = scaled.rounded()
        // Near a tie the product's rounding error decides: leave those, and the huge, to printf.
        guard value.isFinite, scaled < 1e15, abs(abs(scaled - rounded) - 0.5) > 1e-6 else {
            return String(format: "%.\(decimals)f", value)
        }
        let units = Int64(rounded)
        let divisor = Int64(scale)
        var fraction = String(units % divisor)
        while fraction.count < decimals { fraction = "0" + fraction }
        // A negative value that rounds to zero keeps its sign, as printf's does (`-0.00`).
        return (value < 0 ? "-" : "") + String(units / divisor) + "." + fraction
    }
}
