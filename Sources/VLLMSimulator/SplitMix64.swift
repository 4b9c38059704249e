import Foundation

/// A small deterministic random generator (SplitMix64): the same seed gives the same sequence on
/// every machine. Shared by the simulator and the backtest's fleet generator.
public struct SplitMix64: Sendable {
    /// The state.
    public var state: UInt64
    /// Starts the sequence at `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Exponential with mean `mean`.
    public mutating func exponential(_ mean: Double) -> Double { -mean * log(1 - uniform()) }

    /// Log-uniform in [low, high): every order of magnitude equally likely (a heavy tail).
    public mutating func logUniform(_ low: Double, _ high: Double) -> Double { low * pow(high / low, uniform()) }

    /// A Poisson sample with mean `lambda` (Knuth for small means, normal approximation above 30).
    public mutating func poisson(_ lambda: Double) -> Int {
        guard lambda > 0 else { return 0 }
        if lambda > 30 {
            let u1 = max(uniform(), 1e-12), u2 = uniform()
            let normal = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
            return max(0, Int((lambda + normal * lambda.squareRoot()).rounded()))
        }
        let limit = exp(-lambda)
        var k = 0
        var p = 1.0
        repeat {
            k += 1
            p *= uniform()
        } while p > limit
        return k - 1
    }
}
