import Testing
@testable import VLLMSimulator

/// The simulator's traffic profiles, draining pods and delays from arrival to start.
struct SimulationTests {
    @Test func aProfileInterpolatesBetweenItsPointsAndHoldsOutsideThem() {
        let traffic = Scenario.Traffic.profile(
            points: [.init(at: 100, rate: 1), .init(at: 200, rate: 3), .init(at: 300, rate: 3)], period: nil)
        #expect(traffic.rate(at: 0) == 1)
        #expect(traffic.rate(at: 150) == 2)
        #expect(traffic.rate(at: 250) == 3)
        #expect(traffic.rate(at: 1_000) == 3)
    }

    @Test func aProfileWithAPeriodRepeats() {
        let traffic = Scenario.Traffic.profile(points: [.init(at: 0, rate: 0), .init(at: 100, rate: 10)], period: 200)
        #expect(traffic.rate(at: 50) == 5)
        #expect(traffic.rate(at: 250) == 5)
    }

    @Test func aProfileIsReadFromYAML() throws {
        let scenario = try Scenario.parse("""
            termination_grace: 2m
            models:
              - id: m
                traffic: {kind: profile, period: 24h, points: [{at: 0s, rate: 0.1}, {at: 1h30m, rate: 2}]}
            """)
        #expect(scenario.terminationGrace == 120)
        #expect(scenario.models[0].traffic == .profile(points: [.init(at: 0, rate: 0.1), .init(at: 5_400, rate: 2)], period: 86_400))
    }

    @Test(arguments: [
        ("[{at: 1h, rate: 1}, {at: 30m, rate: 2}]", "s.yaml: models[0].traffic.points[1].at: expected a time after the previous point's, found 30m"),
        ("[]", "s.yaml: models[0].traffic.points: expected a non-empty list of {at: DURATION, rate: NUMBER}"),
        ("[{at: soon, rate: 1}]", "s.yaml: models[0].traffic.points[0].at: expected a duration such as 0s, 90m or 6h, found soon"),
        ("[{at: 0s}]", "s.yaml: models[0].traffic.points[0].rate: missing; expected {at: DURATION, rate: NUMBER}"),
        ("[3]", "s.yaml: models[0].traffic.points[0]: expected {at: DURATION, rate: NUMBER}, found 3"),
        ("[{at: 0s, rate: -1}]", "s.yaml: models[0].traffic.points[0].rate: expected a number ≥ 0, found -1"),
    ])
    func aBadProfileNamesTheFileAndThePoint(points: String, message: String) {
        #expect {
            try Scenario.parse("models:\n  - {id: m, traffic: {kind: profile, points: \(points)}}\n", file: "s.yaml")
        } throws: { error in
            (error as? ScenarioError)?.description == message
        }
    }

    /// Pods reporting vLLM metrics for the model, from the exposition.
    func reportingPods(_ simulation: Simulation) -> Int {
        simulation.metricsText().split(separator: "\n").count { $0.hasPrefix("vllm:num_requests_running{") }
    }

    @Test func aScaledDownPodDrainsForTheGracePeriodThenIsGone() {
        let model = Scenario.Model(id: "m", namespace: "n", traffic: .constant(rate: 0.5), initialReplicas: 3)
        var simulation = Simulation(scenario: Scenario(coldStart: 30, serviceTime: 2, terminationGrace: 60, models: [model]))
        simulation.advance(by: 1)
        simulation.setDesired(namespace: "n", model: "m", desired: 1)
        #expect(simulation.deployment(namespace: "n", model: "m")! == (spec: 1, status: 1))
        simulation.advance(by: 1)
        #expect(reportingPods(simulation) == 3)
        for _ in 0..<60 { simulation.advance(by: 1) }
        #expect(reportingPods(simulation) == 1)
        #expect(simulation.report[0].scaleChanges == 1)
    }

    @Test func aPodStillStartingIsRemovedAtOnce() {
        let model = Scenario.Model(id: "m", namespace: "n", traffic: .silent, initialReplicas: 1)
        var simulation = Simulation(scenario: Scenario(coldStart: 30, terminationGrace: 60, models: [model]))
        simulation.setDesired(namespace: "n", model: "m", desired: 3)
        simulation.advance(by: 1)
        simulation.setDesired(namespace: "n", model: "m", desired: 1)
        simulation.advance(by: 1)
        #expect(simulation.fleet[0].ready == 1 && simulation.fleet[0].starting == 0)
    }

    @Test func duringARollingUpdateTheSurgePodAndTheDrainingPodBothReport() {
        var model = Scenario.Model(id: "m", namespace: "n", traffic: .constant(rate: 0.5), initialReplicas: 2)
        model.rolloutAt = 10
        // The grace (20 s) is shorter than a cold start (30 s): one pod drains at a time.
        var simulation = Simulation(scenario: Scenario(coldStart: 30, serviceTime: 2, terminationGrace: 20, models: [model]))
        var most = 0
        for _ in 0..<200 {
            simulation.advance(by: 1)
            most = max(most, reportingPods(simulation))
            #expect(simulation.deployment(namespace: "n", model: "m")!.spec == 2)
        }
        #expect(most == 3)
        #expect(simulation.report[0].rollouts == 1)
    }

    @Test func requestsBeyondTheKVCacheWaitInThePodAndTheirDelayIsRecorded() {
        // One replica runs 2 requests of 10 s at once; one arrives every 2 s: 5 in flight wanted.
        let model = Scenario.Model(id: "m", namespace: "n", traffic: .constant(rate: 0.5), initialReplicas: 1)
        var simulation = Simulation(scenario: Scenario(serviceTime: 10, replicaConcurrency: 2, models: [model]))
        for _ in 0..<100 { simulation.advance(by: 1) }
        let report = simulation.report[0]
        #expect(report.started >= 18 && report.started <= 24)  // 2 at once, then 2 per 10 s
        #expect(report.delayed == report.started - 2)  // all but the first two waited
        #expect(report.maxDelay > 30)
        #expect(report.delayPercentileOfAll(0.5) > 0)
    }

    @Test func requestsThatFitStartAtOnce() {
        let model = Scenario.Model(id: "m", namespace: "n", traffic: .constant(rate: 0.5), initialReplicas: 1)
        var simulation = Simulation(scenario: Scenario(serviceTime: 2, replicaConcurrency: 8, models: [model]))
        for _ in 0..<100 { simulation.advance(by: 1) }
        #expect(simulation.report[0].started == 50)
        #expect(simulation.report[0].delayed == 0)
        #expect(simulation.report[0].readySeconds == 100)
    }
}
