import Foundation
import ModelConfig
import VLLMSimulator

/// A deterministic synthetic fleet: models of seven traffic classes with heavy-tailed rates, the
/// kind of mix the Azure Functions trace study reports (Shahrad et al., "Serverless in the Wild",
/// USENIX ATC 2020: invocation rates spread over eight orders of magnitude, most applications
/// invoked less than once a minute, many on timers). The same seed gives the same trace.
///
/// Classes (model ids are `<class>-<number>`):
/// - `rare`: a session of 1–5 requests now and then; sessions are Poisson with a mean gap of
///   1 hour to 3 days (log-normal).
/// - `timer`: a timer every 5 minutes to a day firing a batch of 1–25 requests over up to a
///   minute, a few seconds of jitter, 2 % of firings skipped.
/// - `diurnal`: Poisson following working hours (peak at 14:00, nothing at night, weekends at
///   a third), peaks of 0.2 to 12 requests a minute.
/// - `bursty`: on/off: silent for exponential periods of 30 minutes to 12 hours, then busy for
///   2–20 minutes at 3–30 requests a minute.
/// - `poisson`: steady Poisson at one request every 20 seconds to every 3 hours.
/// - `busy`: steady Poisson at 2–12 requests a minute; never idle.
/// - `mixed`: a diurnal base, an hourly timer and rare sessions together.
public struct FleetGenerator: Sendable {
    /// The traffic classes.
    public enum TrafficClass: String, Sendable, CaseIterable {
        case rare, timer, diurnal, bursty, poisson, busy, mixed
    }

    /// Models per class.
    public var counts: [TrafficClass: Int]
    /// Seconds of history.
    public var duration: Double
    /// The seed.
    public var seed: UInt64

    /// The default fleet: 300 models over 14 days (about 3.4 million requests with seed 1).
    public init(counts: [TrafficClass: Int]? = nil, duration: Double = 14 * 86_400, seed: UInt64 = 1) {
        self.counts = counts ?? [.rare: 90, .timer: 60, .diurnal: 45, .bursty: 45, .poisson: 36, .busy: 9, .mixed: 15]
        self.duration = duration
        self.seed = seed
    }

    /// The traffic class of a generated model id (nil for any other id).
    public static func trafficClass(of modelID: String) -> TrafficClass? {
        guard let dash = modelID.lastIndex(of: "-") else { return nil }
        return TrafficClass(rawValue: String(modelID[..<dash]))
    }

    /// Generates the trace; each model's class is named in the trace (a `class` column when written).
    public func generate() -> Trace {
        var byModel: [ModelKey: [Double]] = [:]
        var classes: [ModelKey: String] = [:]
        for trafficClass in TrafficClass.allCases {
            for number in 0..<(counts[trafficClass] ?? 0) {
                // One stream per model: adding models of one class does not change the others.
                var random = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(number) &* 7919 &+ UInt64(trafficClass.hashSeed))
                let id = String(format: "%@-%03d", trafficClass.rawValue, number)
                byModel[ModelKey(namespace: "default", modelID: id)] = arrivals(trafficClass, &random)
                classes[ModelKey(namespace: "default", modelID: id)] = trafficClass.rawValue
            }
        }
        return Trace(arrivals: byModel, hasNamespaces: false, classes: classes)
    }

    func arrivals(_ trafficClass: TrafficClass, _ random: inout SplitMix64) -> [Double] {
        switch trafficClass {
        case .rare:
            return sessions(meanGap: random.logUniform(3600, 3 * 86_400), &random)
        case .timer:
            let periods: [Double] = [300, 600, 900, 1800, 3600, 3600, 7200, 14_400, 21_600, 43_200, 86_400]
            let period = periods[Int(random.uniform() * Double(periods.count))]
            return timer(period: period, batch: 1 + Int(random.logUniform(1, 25)), spread: random.uniform() * 60, &random)
        case .diurnal:
            return diurnal(peakPerMinute: random.logUniform(0.2, 12), &random)
        case .bursty:
            return bursty(meanOff: random.logUniform(1800, 43_200), meanOn: random.logUniform(120, 1200), perMinute: random.logUniform(3, 30), &random)
        case .poisson:
            return poisson(rate: 1 / random.logUniform(20, 10_800), from: 0, to: duration, &random)
        case .busy:
            return poisson(rate: random.logUniform(2, 12) / 60, from: 0, to: duration, &random)
        case .mixed:
            var all = diurnal(peakPerMinute: random.logUniform(0.1, 3), &random)
            all += timer(period: 3600, batch: 1 + Int(random.logUniform(1, 10)), spread: 10, &random)
            all += sessions(meanGap: random.logUniform(7200, 86_400), &random)
            return all.sorted()
        }
    }

    /// Sessions of 1–5 requests a few seconds apart, Poisson-spaced.
    func sessions(meanGap: Double, _ random: inout SplitMix64) -> [Double] {
        var times: [Double] = []
        var t = random.exponential(meanGap)
        while t < duration {
            let size = 1 + Int(random.uniform() * 5)
            var u = t
            for _ in 0..<size where u < duration {
                times.append(u)
                u += random.exponential(8)
            }
            t += random.exponential(meanGap)
        }
        return times
    }

    /// A timer: every `period` from a random phase, `batch` requests over `spread` seconds.
    func timer(period: Double, batch: Int, spread: Double, _ random: inout SplitMix64) -> [Double] {
        var times: [Double] = []
        var firing = random.uniform() * period
        while firing < duration {
            if random.uniform() >= 0.02 {
                let start = firing + random.uniform() * 5
                for k in 0..<batch {
                    let t = start + (batch > 1 ? spread * Double(k) / Double(batch - 1) : 0)
                    if t < duration { times.append(t) }
                }
            }
            firing += period
        }
        return times
    }

    /// Working hours: rate ∝ max(0, sin) over 07:00–21:00 peaking at 14:00; weekends (days 5, 6
    /// of each week) at a third.
    func diurnal(peakPerMinute: Double, _ random: inout SplitMix64) -> [Double] {
        let peak = peakPerMinute / 60
        var times: [Double] = []
        var t = 0.0
        while true {
            t += random.exponential(1 / peak)
            guard t < duration else { break }
            let hour = t.truncatingRemainder(dividingBy: 86_400) / 3600
            let day = Int(t / 86_400) % 7
            var shape = hour > 7 && hour < 21 ? sin(.pi * (hour - 7) / 14) : 0
            if day >= 5 { shape /= 3 }
            if random.uniform() < shape { times.append(t) }
        }
        return times
    }

    /// On/off: exponential silences of mean `meanOff`, bursts of mean `meanOn` at `perMinute`.
    func bursty(meanOff: Double, meanOn: Double, perMinute: Double, _ random: inout SplitMix64) -> [Double] {
        var times: [Double] = []
        var t = random.exponential(meanOff)
        while t < duration {
            let end = min(duration, t + random.exponential(meanOn))
            times += poisson(rate: perMinute / 60, from: t, to: end, &random)
            t = end + random.exponential(meanOff)
        }
        return times
    }

    func poisson(rate: Double, from start: Double, to end: Double, _ random: inout SplitMix64) -> [Double] {
        var times: [Double] = []
        var t = start + random.exponential(1 / rate)
        while t < end {
            times.append(t)
            t += random.exponential(1 / rate)
        }
        return times
    }
}

extension FleetGenerator.TrafficClass {
    var hashSeed: Int { Self.allCases.firstIndex(of: self)! * 104_729 }
}
