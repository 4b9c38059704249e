import VLLMSimulator

/// A small seeded generator (SplitMix64): the same seed gives the same schedule on every machine
/// and Swift version, which `SystemRandomNumberGenerator` and `Int.random(in:)`'s algorithm do not
/// promise. Schedules are generated from it, never the run itself: a run is a pure function of its
/// schedule, so a shrunk schedule replays exactly. The bits are the simulator's ``SplitMix64``;
/// this adds the draws schedules are made of.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var bits: SplitMix64

    /// Creates a generator from `seed`.
    public init(seed: UInt64) { bits = SplitMix64(seed: seed) }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 { bits.next() }

    /// A uniform integer in `range` (bias below 2^-32 for the small ranges used here).
    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        let width = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + Int(next() % width)
    }

    /// A uniform double in `range`.
    public mutating func double(_ range: ClosedRange<Double>) -> Double {
        let unit = Double(next() >> 11) / Double(1 << 53)
        return range.lowerBound + unit * (range.upperBound - range.lowerBound)
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { double(0...1) < p }

    /// One element of `items`.
    public mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    /// The seed of the `index`-th schedule of a run started with `seed`: schedules are independent,
    /// so schedule 7 of seed 42 can be replayed alone.
    public static func scheduleSeed(run seed: UInt64, index: Int) -> UInt64 {
        var mixer = SeededRandom(seed: seed ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03))
        return mixer.next()
    }
}
