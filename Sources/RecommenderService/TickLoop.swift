import Foundation
import Logging
import ModelConfig
import PrometheusClient
import Recommendation
import ServiceLifecycle
import Synchronization

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
        await repeatUntilShutdown(every: interval) { await self.tickOnce() }
    }

    /// One tick: recovery if still due, signals, decisions.
    public func tickOnce() async {
        let started = ContinuousClock.now
        await engine.recoverIfDue(from: collector, window: recoveryWindow, now: clock.now())
        let (fleet, outcomes) = await collector.collect(retentions: await engine.retentionsInUse, now: clock.now())
        if await !engine.decides { collector.answersDiscarded() }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        await engine.tick(fleet, outcomes: outcomes, duration: seconds, now: clock.now())
        releaseFreedMemory()
    }
}

extension Engine {
    /// Restart recovery, until it succeeds, as every loop runs it (the service's and the fault
    /// simulation's): the last recommendations and the proven wake paths together, then the
    /// learned keep-alive values (best effort) when `learned`.
    public func recoverIfDue(from collector: SignalCollector, window: ConfigDuration, now: Instant, learned: Bool = true) async {
        guard !recovered else { return }
        let values = await collector.recover(window: window)
        let wakePaths = await collector.recoverWakePaths(window: window)
        let revoked = await collector.recoverWakePathRevocations(window: window)
        let adopted = await collector.recoverAdopted(window: window)
        let answered = await collector.recoverGatewayAnswered(window: window, now: now)
        recover(values, wakePaths: wakePaths, revoked: revoked, adopted: adopted, gatewayAnswered: answered, now: now)
        if recovered, case .success(let at) = answered { collector.gatewayAnsweredRecovered(at) }
        if learned, recovered { recoverLearned(await collector.recoverLearned(window: window)) }
    }
}

/// Polls the model ConfigMap and reloads it when it changes (the kubelet swaps a ConfigMap volume
/// atomically; a few seconds' delay is fine).
public struct ConfigWatcher: Service {
    let path: String
    let engine: Engine
    let clock: any TimeSource
    let pollInterval: Duration
    /// The fingerprint of what was last read (nil: never read successfully).
    private let loaded = LoadedFingerprint()

    final class LoadedFingerprint: Sendable {
        let value = Mutex<String?>(nil)
    }

    /// Creates the watcher.
    public init(path: String, engine: Engine, clock: any TimeSource, pollInterval: Duration) {
        self.path = path
        self.engine = engine
        self.clock = clock
        self.pollInterval = pollInterval
    }

    public func run() async throws {
        await repeatUntilShutdown(every: pollInterval) {
            if ConfigSource.fingerprint(path: self.path) != self.loaded.value.withLock({ $0 }) {
                await self.load()
            }
        }
    }

    /// Reads and applies the ConfigMap; false when it could not be read.
    @discardableResult
    public func load() async -> Bool {
        // Taken before reading: an edit that lands while reading changes it again and is re-read.
        let fingerprint = ConfigSource.fingerprint(path: path)
        do {
            let entries = try ConfigSource.read(path: path)
            // Parsing 10,000 entries takes ~0.5 s: do it here, not inside the engine actor, so
            // ticks and wake calls are not held up. Only this watcher writes the configuration.
            let set = ModelConfigSet.build(entries: entries, previous: await engine.config)
            await engine.apply(set, now: clock.now())
            loaded.value.withLock { $0 = fingerprint }
            return true
        } catch {
            await engine.configUnreadable(error)
            loaded.value.withLock { $0 = nil }
            return false
        }
    }
}

/// Runs `body`, then sleeps `interval`, until graceful shutdown or cancellation. Shutdown cancels
/// the sleep: that is the normal way out, not an error.
func repeatUntilShutdown(every interval: Duration, _ body: @escaping @Sendable () async -> Void) async {
    try? await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            await body()
            try await Task.sleep(for: interval)
        }
    }
}

#if os(Linux)
@_silgen_name("malloc_trim") private func malloc_trim(_ pad: Int) -> Int32

/// A tick allocates its query results (megabytes at 10,000 models) and frees them; hand the freed
/// pages back to the system so resident memory tracks what is live between ticks.
private func releaseFreedMemory() { _ = malloc_trim(0) }
#else
private func releaseFreedMemory() {}
#endif
