import Foundation
import Logging
import ModelConfig
import PrometheusClient
import Recommendation
import ServiceLifecycle

/// Every interval: restart recovery (until it succeeds), then one query per signal and a decision
/// pass over every model.
public struct TickLoop: Service {
    let engine: Engine
    let collector: SignalCollector
    let clock: any TimeSource
    let interval: Duration
    let recoveryWindow: ConfigDuration

    /// Creates the loop.
    public init(engine: Engine, collector: SignalCollector, clock: any TimeSource, interval: Duration, recoveryWindow: ConfigDuration) {
        self.engine = engine
        self.collector = collector
        self.clock = clock
        self.interval = interval
        self.recoveryWindow = recoveryWindow
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.tickOnce()
                try await Task.sleep(for: self.interval)
            }
        }
    }

    /// One tick: recovery if still due, signals, decisions.
    public func tickOnce() async {
        let started = ContinuousClock.now
        if await !engine.recovered {
            await engine.recover(await collector.recover(window: recoveryWindow), now: clock.now())
        }
        let (fleet, outcomes) = await collector.collect(retentions: await engine.retentionsInUse)
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        await engine.tick(fleet, outcomes: outcomes, duration: seconds, now: clock.now())
    }
}

/// Polls the model ConfigMap and reloads it when it changes (the kubelet swaps a ConfigMap volume
/// atomically; a few seconds' delay is fine).
public struct ConfigWatcher: Service {
    let path: String
    let engine: Engine
    let clock: any TimeSource
    let pollInterval: Duration

    /// Creates the watcher.
    public init(path: String, engine: Engine, clock: any TimeSource, pollInterval: Duration) {
        self.path = path
        self.engine = engine
        self.clock = clock
        self.pollInterval = pollInterval
    }

    public func run() async throws {
        let initiallyLoaded = await engine.config != nil
        try await cancelWhenGracefulShutdown {
            var fingerprint = ConfigSource.fingerprint(path: self.path)
            var loaded = initiallyLoaded
            while !Task.isCancelled {
                try await Task.sleep(for: self.pollInterval)
                let current = ConfigSource.fingerprint(path: self.path)
                guard current != fingerprint || !loaded else { continue }
                fingerprint = current
                loaded = await self.load()
            }
        }
    }

    /// Reads and applies the ConfigMap; false when it could not be read.
    @discardableResult
    public func load() async -> Bool {
        do {
            let entries = try ConfigSource.read(path: path)
            // Parsing 10,000 entries takes ~0.5 s: do it here, not inside the engine actor, so
            // ticks and wake calls are not held up. Only this watcher writes the configuration.
            let set = ModelConfigSet.build(entries: entries, previous: await engine.config)
            await engine.apply(set, now: clock.now())
            return true
        } catch {
            await engine.configUnreadable(error)
            return false
        }
    }
}
