import Foundation
import Logging
import Testing
import ModelConfig
import PrometheusClient
import Recommendation
@testable import RecommenderService

/// Gateway attribution attacked through the engine: a record of the same model id in the
/// gateway's own namespace, and a series without a namespace proving a wake path for a namespace
/// the gateway does not route.
struct AttributionAttackTests {
    static let gatewayNamespace = "gateway-system"

    /// First deployment (no namespaced entries, nothing to recover): the first tick sees the served
    /// model's vLLM series in `team-a` and the shared gateway's counter labelled `gateway-system`.
    /// Attribution runs before the vLLM series adopt `team-a/org/m`, so the counter adopts a model
    /// `gateway-system/org/m` nobody serves; from then on the series always prefers that record.
    @Test func aSharedGatewaySeenAtFirstStartInventsNoModelAndProvesTheServedModelsWakePath() async {
        let served = ModelKey(namespace: "team-a", modelID: "org/m")
        let phantom = ModelKey(namespace: Self.gatewayNamespace, modelID: "org/m")
        let engine = await decidedEngine(models: [], config: ["default": "enable_scale_to_zero: true\nretention_period: 10s"])
        let gateway = [GatewayKey(namespace: Self.gatewayNamespace, name: "org/m"): 0.0]  // routed, no request lately
        for second in stride(from: 2.0, through: 40, by: 1) {
            await engine.tick(
                completeFleet(ready: [served: 1], retentions: [ConfigDuration(seconds: 10)], gatewayRequests: gateway),
                outcomes: [], duration: 0, now: Instant(seconds: second))
        }
        #expect(await engine.decision(for: phantom) == nil, "invented \(phantom)")
        let decision = await engine.decision(for: served)
        #expect(decision?.wakePath == .gateway)
        // Idle, good data, routed by the gateway: zero within R + 2 ticks (liveness).
        #expect(decision?.desired == 0, "\(decision?.reason.rawValue ?? "nil"): \(decision?.detail ?? "")")
    }

    /// A model at zero in `team-a`, routed by a shared gateway in `gateway-system`. One wake call
    /// names the gateway's namespace by mistake (the reply even lists `team-a`): the call adopts
    /// `gateway-system/org/m`, which from the next tick on captures every gateway series of the id.
    /// The gateway then rejects requests for the served model (its counter rises) and the model
    /// stays at zero: stranded, with default flags.
    @Test func gatewayDemandForAModelAtZeroIsNotCapturedByARecordInTheGatewayNamespace() async {
        let served = ModelKey(namespace: "team-a", modelID: "org/m")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let engine = Engine(options: EngineOptions(), logger: logger)
        await engine.loadConfig([RawEntry(
            key: "m", text: "model_id: org/m\nnamespace: team-a\nenable_scale_to_zero: true\nretention_period: 10s",
            location: EntryLocation(file: "m"))], now: Instant(seconds: 0))
        // Restarted while the model was at zero (its wake path was proven before).
        await engine.recover(.success([served: 0]), wakePaths: .success([served: 1]), now: Instant(seconds: 1))
        // `count`: requests the gateway counted over its window (the increase of its counter).
        func tick(_ count: Double, at second: Double) async {
            await engine.tick(
                completeFleet(retentions: [ConfigDuration(seconds: 10)],
                              gatewayRequests: [GatewayKey(namespace: Self.gatewayNamespace, name: "org/m"): count]),
                outcomes: [], duration: 0, now: Instant(seconds: second))
        }
        await tick(0, at: 5)
        let before = await engine.decision(for: served)
        #expect(before?.desired == 0, "\(before?.reason.rawValue ?? "nil"): \(before?.detail ?? "")")
        _ = await engine.wake(ModelKey(namespace: Self.gatewayNamespace, modelID: "org/m"), now: Instant(seconds: 6))
        await tick(0, at: 7)
        await tick(0, at: 8)
        // Requests for the served model reach the gateway and are rejected (no flow control).
        await tick(3, at: 9)
        await tick(6, at: 10)
        let decision = await engine.decision(for: served)
        #expect((decision?.desired ?? 0) >= 1, "stranded: \(decision?.reason.rawValue ?? "nil"): \(decision?.detail ?? "")")
    }

    /// Gateways per namespace label each series with its model's namespace. `org/m` runs in
    /// `team-a` (its own gateway's series say `team-a`); `team-b` is starting `org/m` (no pod of
    /// it reports yet) when requests for it reach `team-b`'s gateway: they are `team-b`'s demand
    /// (spec §4: the label first) — not `team-a`'s, whose wake path they prove nothing for (fault
    /// simulation, schedule 6900963101566896114: `team-b/org/m` was never exported while its
    /// requests waited).
    @Test func aSeriesLabelledWithAnotherNamespaceThanTheModelsOwnSeriesIsThatNamespacesDemand() async {
        let running = ModelKey(namespace: "team-a", modelID: "org/m")
        let starting = ModelKey(namespace: "team-b", modelID: "org/m")
        let engine = await decidedEngine(models: [running], config: ["default": "enable_scale_to_zero: true\nretention_period: 10s"])
        let gateway = [GatewayKey(namespace: "team-a", name: "org/m"): 0.0, GatewayKey(namespace: "team-b", name: "org/m"): 2.0]
        for second in [2.0, 3.0] {
            await engine.tick(
                completeFleet(ready: [running: 1], retentions: [ConfigDuration(seconds: 10)], gatewayRequests: gateway),
                outcomes: [], duration: 0, now: Instant(seconds: second))
        }
        let woken = await engine.decision(for: starting)
        #expect((woken?.desired ?? 0) >= 1, "stranded: \(woken?.reason.rawValue ?? "never exported"): \(woken?.detail ?? "")")
        #expect(await engine.decision(for: running)?.reason != .wake)
    }

    /// A shared gateway in `llm-gw`, whose namespace also runs a model of its own (`acme/embed`):
    /// its series for `org/m`, which runs at zero in `team-a` and has no series of its own
    /// namespace's label, are `team-a`'s demand. Taking every label naming a namespace where a
    /// model runs for that namespace's demand (a first version) invented `llm-gw/org/m` and left
    /// `team-a/org/m` at zero while its requests waited.
    @Test func aSharedGatewaysSeriesStillWakeTheModelWhenItsOwnNamespaceRunsAModel() async {
        let (woken, phantom) = await Self.requestsQueueAtASharedGateway(
            besides: "model_id: acme/embed\nnamespace: llm-gw\nenable_scale_to_zero: false", running: ModelKey(namespace: "llm-gw", modelID: "acme/embed"))
        #expect((woken?.desired ?? 0) >= 1 && phantom == nil, "team-a: \(woken?.reason.rawValue ?? "nil") \(woken?.detail ?? ""); invented llm-gw/org/m: \(phantom != nil)")
    }

    /// `team-a/org/m` at zero (its wake path proven before a restart) while `running` (its entry
    /// `besides`) serves: requests for `org/m` queue at a shared gateway labelled `llm-gw` for two
    /// ticks, beside `running`'s own series under its own label. Returns `team-a/org/m`'s decision
    /// and `llm-gw/org/m`'s.
    static func requestsQueueAtASharedGateway(besides entry: String, running: ModelKey) async -> (woken: Decision?, phantom: Decision?) {
        let atZero = ModelKey(namespace: "team-a", modelID: "org/m")
        let itsSeries = GatewayKey(namespace: running.namespace, name: running.modelID)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let engine = Engine(options: EngineOptions(), logger: logger)
        await engine.loadConfig([
            RawEntry(key: "a", text: "model_id: org/m\nnamespace: team-a\nenable_scale_to_zero: true\nretention_period: 10s", location: EntryLocation(file: "a")),
            RawEntry(key: "b", text: entry, location: EntryLocation(file: "b")),
        ], now: Instant(seconds: 0))
        await engine.recover(.success([atZero: 0, running: 1]), wakePaths: .success([atZero: 1]), now: Instant(seconds: 1))
        for (second, queued) in [(2.0, 0.0), (3.0, 2.0), (4.0, 2.0)] {
            await engine.tick(
                completeFleet(ready: [running: 1], retentions: [ConfigDuration(seconds: 10)],
                              demand: [GatewayKey(namespace: "llm-gw", name: "org/m"): queued, itsSeries: 0]),
                outcomes: [], duration: 0, now: Instant(seconds: second))
        }
        return (await engine.decision(for: atZero), await engine.decision(for: ModelKey(namespace: "llm-gw", modelID: "org/m")))
    }

    /// A mixed topology: a shared gateway in `llm-gw` routes `org/m` for `team-a` (at zero, no
    /// series of its own label), while `team-b` has its own gateway for its `org/m`. Requests at
    /// the shared gateway are `team-a`'s: one model of the name with its own label (`team-b`)
    /// does not make every label a model's namespace (a version that asked for any such model
    /// adopted `llm-gw/org/m` and left `team-a/org/m` at zero).
    @Test func oneNamespacesOwnGatewayDoesNotMakeASharedGatewaysLabelAModelNamespace() async {
        let (woken, phantom) = await Self.requestsQueueAtASharedGateway(
            besides: "model_id: org/m\nnamespace: team-b\nenable_scale_to_zero: true\nretention_period: 10s", running: ModelKey(namespace: "team-b", modelID: "org/m"))
        #expect((woken?.desired ?? 0) >= 1 && phantom == nil, "team-a: \(woken?.reason.rawValue ?? "nil") \(woken?.detail ?? ""); invented llm-gw/org/m: \(phantom != nil)")
    }

    /// `org/m` is served in `team-a` behind the gateway (whose series carry no namespace label) and
    /// in `team-b` to in-cluster callers that do not go through any gateway. The gateway has never
    /// routed `team-b/org/m`, yet its series "prove" a wake path there, so `team-b` goes to zero
    /// with nothing that can bring it back (the first lesson of the seeds).
    @Test func anUnnamespacedGatewaySeriesDoesNotProveAWakePathInANamespaceItDoesNotRoute() async {
        let routed = ModelKey(namespace: "team-a", modelID: "org/m")
        let direct = ModelKey(namespace: "team-b", modelID: "org/m")
        let engine = await decidedEngine(models: [], config: [
            "a": "model_id: org/m\nnamespace: team-a\nenable_scale_to_zero: true\nretention_period: 10s",
            "b": "model_id: org/m\nnamespace: team-b\nenable_scale_to_zero: true\nretention_period: 10s",
        ])
        for second in stride(from: 2.0, through: 30, by: 1) {
            await engine.tick(
                completeFleet(ready: [routed: 1, direct: 1], retentions: [ConfigDuration(seconds: 10)],
                              gatewayRequests: [GatewayKey(namespace: nil, name: "org/m"): 0]),
                outcomes: [], duration: 0, now: Instant(seconds: second))
        }
        let decision = await engine.decision(for: direct)
        #expect(decision?.wakePath != .gateway)
        #expect(decision?.desired != 0, "team-b at zero with wake path \(decision?.wakePath.rawValue ?? "nil")")
    }

    /// Two namespaces serve `org/m`; the gateway labels each series with the model's namespace.
    /// team-b's series appears before team-b's pods are first scraped, while only team-a's model
    /// is known: attributed to team-a then (demand wakes the only model known), it must not remain
    /// a wake path for team-a once team-b's model is known — team-a's own callers were never seen
    /// at the gateway.
    @Test func aSightingOfAnotherNamespacesSeriesIsNoWakePathOnceThatNamespacesModelIsKnown() async {
        let a = ModelKey(namespace: "team-a", modelID: "org/m"), b = ModelKey(namespace: "team-b", modelID: "org/m")
        let retention = ConfigDuration(seconds: 10)
        let engine = await decidedEngine(models: [], config: ["default": "enable_scale_to_zero: true\nretention_period: 10s"])
        let series = [GatewayKey(namespace: "team-b", name: "org/m"): 0.0]
        for second in stride(from: 2.0, through: 4, by: 1) {
            await engine.tick(completeFleet(ready: [a: 1], retentions: [retention], gatewayRequests: series), outcomes: [], duration: 0, now: Instant(seconds: second))
        }
        for second in stride(from: 5.0, through: 40, by: 1) {
            await engine.tick(completeFleet(ready: [a: 1, b: 1], retentions: [retention], gatewayRequests: series), outcomes: [], duration: 0, now: Instant(seconds: second))
        }
        let decisionA = await engine.decision(for: a), decisionB = await engine.decision(for: b)
        #expect(decisionA?.wakePath == WakePathStatus.none)
        #expect(decisionA?.reason == .noWakePath && decisionA?.desired == 1, "\(decisionA?.reason.rawValue ?? "nil"): \(decisionA?.detail ?? "")")
        #expect(decisionB?.wakePath == .gateway)
        #expect(decisionB?.desired == 0, "\(decisionB?.reason.rawValue ?? "nil"): \(decisionB?.detail ?? "")")
    }

    /// After a restart team-a's model of `org/m` is known only from its recovered recommendation
    /// (its pods' scrapes fail) and team-b's from its vLLM series. The gateway's series labelled
    /// team-a goes (as demand) to the evidenced team-b model, but it proves no wake path for
    /// team-b, and it keeps team-a's model known: it names that model in its own namespace.
    @Test func aSeriesLabelledWithANamespaceWhereTheIdIsKnownProvesNothingElsewhereAndKeepsItKnown() async {
        let a = ModelKey(namespace: "team-a", modelID: "org/m"), b = ModelKey(namespace: "team-b", modelID: "org/m")
        let retention = ConfigDuration(seconds: 10)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let engine = Engine(options: EngineOptions(forgetAfterSeconds: 20), logger: logger)
        await engine.loadConfig([RawEntry(key: "default", text: "enable_scale_to_zero: true\nretention_period: 10s", location: EntryLocation(file: "default"))], now: Instant(seconds: 0))
        await engine.recover(.success([a: 1, b: 1]), now: Instant(seconds: 0))
        let series = [GatewayKey(namespace: "team-a", name: "org/m"): 0.0]
        for second in stride(from: 1.0, through: 60, by: 1) {
            await engine.tick(completeFleet(ready: [b: 1], retentions: [retention], gatewayRequests: series), outcomes: [], duration: 0, now: Instant(seconds: second))
        }
        let decisionB = await engine.decision(for: b)
        #expect(decisionB?.wakePath == WakePathStatus.none)
        #expect((decisionB?.desired ?? 0) >= 1, "\(decisionB?.reason.rawValue ?? "nil"): \(decisionB?.detail ?? "")")
        #expect(await engine.decision(for: a) != nil, "team-a's model was forgotten while its gateway series was present")
        #expect(await engine.renderMetrics().contains("namespace=\"team-a\""))
    }

    /// The rule itself: a remembered sighting is dropped for every model of a name that gains
    /// another model; an unlabelled series proves a path only for the one model of its name.
    @Test func aNameThatGainsASecondModelDropsItsModelsSightings() {
        func config(_ key: ModelKey) -> ResolvedModelConfig { ConfigResolver(config: .empty, environmentScaleToZero: nil).resolve(key) }
        let a = ModelKey(namespace: "team-a", modelID: "org/m"), b = ModelKey(namespace: "team-b", modelID: "org/m")
        let other = ModelKey(namespace: "team-a", modelID: "org/other")
        let one = NameIndex(models: [(config(b), true), (config(other), true)], entries: [])
        let two = NameIndex(models: [(config(a), true), (config(b), true), (config(other), true)], entries: [])
        #expect(one.wakePathProven(by: GatewayKey(namespace: nil, name: "org/m")) == b)
        #expect(two.wakePathProven(by: GatewayKey(namespace: nil, name: "org/m")) == nil)
        #expect(two.wakePathProven(by: GatewayKey(namespace: "team-a", name: "org/m")) == a)
        #expect(two.wakePathProven(by: GatewayKey(namespace: "gateway-system", name: "org/m")) == nil)
        #expect(two.modelsWithNewRivals(since: one) == [a, b])
        #expect(two.modelsWithNewRivals(since: two).isEmpty)
        #expect(one.modelsWithNewRivals(since: nil).isEmpty)
    }

    /// The shared gateway's series of `org/m` appears before the model's pods report: it adopts a
    /// record in the gateway's own namespace. That record, known only from the label, is no rival
    /// for the wake path of the model its pods then show in team-a: idle, it reaches zero.
    @Test func aRecordAdoptedFromASharedGatewaysLabelDoesNotBlockTheServedModelsWakePath() async {
        let served = ModelKey(namespace: "team-a", modelID: "org/m")
        let engine = await decidedEngine(models: [], config: ["default": "enable_scale_to_zero: true\nretention_period: 10s"])
        let gateway = [GatewayKey(namespace: Self.gatewayNamespace, name: "org/m"): 0.0]
        let retention = ConfigDuration(seconds: 10)
        await engine.tick(completeFleet(retentions: [retention], gatewayRequests: gateway), outcomes: [], duration: 0, now: Instant(seconds: 2))
        for second in stride(from: 3.0, through: 40, by: 1) {
            await engine.tick(completeFleet(ready: [served: 1], retentions: [retention], gatewayRequests: gateway), outcomes: [], duration: 0, now: Instant(seconds: second))
        }
        let decision = await engine.decision(for: served)
        #expect(decision?.wakePath == .gateway)
        #expect(decision?.desired == 0, "\(decision?.reason.rawValue ?? "nil"): \(decision?.detail ?? "")")
    }
}

/// Wake-path sightings across a restart: a sighting revoked by a rival stays revoked (whichever
/// replica of the service exported the two), and a rival the last process already knew revokes
/// nothing (the models it exported are the baseline, not an empty inventory).
struct SightingRecoveryTests {
    static let a = ModelKey(namespace: "team-a", modelID: "org/m"), b = ModelKey(namespace: "team-b", modelID: "org/m")
    static let retention = ConfigDuration(seconds: 10)
    /// A real clock's epoch seconds (the last-seen gauge is refreshed once a minute of them).
    static let base = 1_700_000_000.0

    static func engine() async -> Engine {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let engine = Engine(options: EngineOptions(), logger: logger)
        await engine.loadConfig([RawEntry(key: "default", text: "enable_scale_to_zero: true\nretention_period: 10s", location: EntryLocation(file: "default"))], now: Instant(seconds: Self.base + 0))
        return engine
    }

    static func exported(_ metric: String, _ key: ModelKey, in page: String) -> Double? {
        let prefix = "\(metric){namespace=\"\(key.namespace)\",model_name=\"\(key.modelID)\"} "
        return page.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count)) }
    }

    @Test func aRevokedSightingIsNotRecoveredAndAKnownRivalRevokesNothing() async throws {
        // The last process: the gateway's unlabelled series proves team-a's path while team-a is
        // the only model of the name, then team-b's pods appear and revoke it.
        let first = await Self.engine()
        await first.recover(.success([:]), now: Instant(seconds: Self.base + 1))
        let series = [GatewayKey(namespace: nil, name: "org/m"): 0.0]
        for second in stride(from: 2.0, through: 4, by: 1) {
            await first.tick(completeFleet(ready: [Self.a: 1], retentions: [Self.retention], gatewayRequests: series), outcomes: [], duration: 0, now: Instant(seconds: Self.base + second))
        }
        #expect(await first.decision(for: Self.a)?.wakePath == .gateway)
        let seen = try #require(Self.exported("recommender_model_gateway_last_seen_timestamp_seconds", Self.a, in: await first.renderMetrics()))
        await first.tick(completeFleet(ready: [Self.a: 1, Self.b: 1], retentions: [Self.retention], gatewayRequests: series), outcomes: [], duration: 0, now: Instant(seconds: Self.base + 5))
        #expect(await first.decision(for: Self.a)?.wakePath == WakePathStatus.none)
        let revoked = try #require(Self.exported("recommender_model_gateway_revoked_timestamp_seconds", Self.a, in: await first.renderMetrics()))
        #expect(revoked == Self.base + 5 && revoked >= seen)

        // A restart while the gateway's scrapes fail: what Prometheus kept of both series (the
        // sighting from the old pod, the revocation from another) leaves team-a without a path.
        let second = await Self.engine()
        await second.recover(.success([Self.a: 1, Self.b: 1]), wakePaths: .success([Self.a: seen]), revoked: .success([Self.a: revoked]), now: Instant(seconds: Self.base + 10))
        await second.tick(completeFleet(ready: [Self.a: 1, Self.b: 1], retentions: [Self.retention]), outcomes: [], duration: 0, now: Instant(seconds: Self.base + 11))
        #expect(await second.decision(for: Self.a)?.wakePath == WakePathStatus.none)

        // Control: a sighting the last process kept with both models known survives the restart
        // (team-b, evidenced in this first tick, was evidenced for it too).
        let third = await Self.engine()
        await third.recover(.success([Self.a: 1, Self.b: 1]), wakePaths: .success([Self.a: Self.base + 8]), now: Instant(seconds: Self.base + 10))
        await third.tick(completeFleet(ready: [Self.a: 1, Self.b: 1], retentions: [Self.retention]), outcomes: [], duration: 0, now: Instant(seconds: Self.base + 11))
        #expect(await third.decision(for: Self.a)?.wakePath == .gateway)

        // A model the last process never exported (configured or woken during the restart) is a
        // new rival: the recovered sighting, proven without it, is dropped.
        let fourth = await Self.engine()
        await fourth.recover(.success([Self.a: 1]), wakePaths: .success([Self.a: Self.base + 8]), now: Instant(seconds: Self.base + 10))
        await fourth.tick(completeFleet(ready: [Self.a: 1, Self.b: 1], retentions: [Self.retention]), outcomes: [], duration: 0, now: Instant(seconds: Self.base + 11))
        #expect(await fourth.decision(for: Self.a)?.wakePath == WakePathStatus.none)
    }
}
