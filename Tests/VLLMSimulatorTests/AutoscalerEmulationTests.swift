import Testing
@testable import VLLMSimulator

/// The emulated KEDA + HPA against the upstream behaviour it encodes (Kubernetes 1.33
/// `pkg/controller/podautoscaler/{horizontal,replica_calculator}.go`, `pkg/apis/autoscaling/v2/defaults.go`;
/// KEDA 2.17 `pkg/scaling/executor/scale_scaledobjects.go`).
struct AutoscalerEmulationTests {
    func autoscaler(_ settings: AutoscalerEmulation.Settings = .init(), targets: [Double] = [1]) -> AutoscalerEmulation {
        AutoscalerEmulation(settings: settings, targets: targets)
    }

    @Test func replicasFollowTheValueOverAnAverageValueTargetOfOne() {
        var hpa = autoscaler()
        #expect(hpa.reconcile(values: [3], spec: 2, status: 2, now: 0) == 3)
    }

    @Test func anAverageValueTargetDividesTheTotal() {
        var hpa = autoscaler(targets: [6.4])
        #expect(hpa.reconcile(values: [44], spec: 6, status: 6, now: 0) == 7)  // ceil(44 / 6.4)
    }

    @Test func aChangeWithinTheToleranceIsIgnored() {
        var hpa = autoscaler()
        #expect(hpa.reconcile(values: [11], spec: 10, status: 10, now: 0) == 10)  // ratio 1.1: within 10 %
        #expect(hpa.reconcile(values: [12], spec: 10, status: 10, now: 15) == 12)
        var exact = autoscaler(.init(tolerance: 0))
        #expect(exact.reconcile(values: [11], spec: 10, status: 10, now: 0) == 11)
    }

    @Test func withinTheToleranceOfTheStatusReplicasASurgePodIsKept() {
        // A rolling update of 10 replicas: status 11 (the surge pod). A recommendation of 10 is
        // within 10 % of 11, so the proposal is the status replicas (upstream
        // GetExternalPerPodMetricReplicas returns statusReplicas then).
        var hpa = autoscaler()
        #expect(hpa.reconcile(values: [10], spec: 10, status: 11, now: 0) == 11)
        // At 2 replicas the band is narrower than one replica: the value wins.
        var small = autoscaler()
        #expect(small.reconcile(values: [2], spec: 2, status: 3, now: 0) == 2)
    }

    @Test func scaleDownWaitsForTheStabilizationWindowSeededWithTheCurrentReplicas() {
        var hpa = autoscaler()
        #expect(hpa.reconcile(values: [2], spec: 6, status: 6, now: 0) == 6)
        #expect(hpa.reconcile(values: [2], spec: 6, status: 6, now: 150) == 6)
        #expect(hpa.reconcile(values: [2], spec: 6, status: 6, now: 299) == 6)
        #expect(hpa.reconcile(values: [2], spec: 6, status: 6, now: 300.5) == 2)
    }

    @Test func theHighestProposalOfTheWindowIsKept() {
        var hpa = autoscaler(.init(scaleDownWindow: 100))
        #expect(hpa.reconcile(values: [5], spec: 5, status: 5, now: 0) == 5)
        #expect(hpa.reconcile(values: [4], spec: 5, status: 5, now: 50) == 5)
        #expect(hpa.reconcile(values: [2], spec: 5, status: 5, now: 120) == 4)  // 4 was proposed at 50, within 100
        #expect(hpa.reconcile(values: [2], spec: 4, status: 4, now: 151) == 2)
    }

    @Test func scaleUpIsLimitedToFourPodsOrDoublingPerFifteenSeconds() {
        var hpa = autoscaler()
        #expect(hpa.reconcile(values: [20], spec: 1, status: 1, now: 0) == 5)  // max(1 + 4, 1 × 2)
        #expect(hpa.reconcile(values: [20], spec: 5, status: 5, now: 10) == 5)  // still in the period that started at 1
        #expect(hpa.reconcile(values: [20], spec: 5, status: 5, now: 15) == 10)  // max(5 + 4, 5 × 2)
        #expect(hpa.reconcile(values: [20], spec: 10, status: 10, now: 30) == 20)
    }

    @Test func theLargestProposalOfSeveralMetricsWins() {
        var hpa = autoscaler(targets: [1, 6.4])
        #expect(hpa.reconcile(values: [2, 30], spec: 2, status: 2, now: 0) == 5)  // ceil(30 / 6.4)
        var other = autoscaler(targets: [1, 6.4])
        #expect(other.reconcile(values: [4, 6], spec: 2, status: 2, now: 0) == 4)
    }

    @Test func aFailedMetricBlocksScaleDownButNotScaleUp() {
        var hpa = autoscaler(.init(scaleDownWindow: 0), targets: [1, 1])
        #expect(hpa.reconcile(values: [1, nil], spec: 3, status: 3, now: 0) == 3)
        #expect(hpa.reconcile(values: [5, nil], spec: 3, status: 3, now: 15) == 5)
        #expect(hpa.reconcile(values: [nil, nil], spec: 5, status: 5, now: 30) == 5)
    }

    @Test func kedaActivatesFromZeroToOneAndLeavesZeroAloneWhileInactive() {
        var hpa = autoscaler()
        #expect(hpa.reconcile(values: [0], spec: 0, status: 0, now: 0) == 0)
        #expect(hpa.reconcile(values: [3], spec: 0, status: 0, now: 15) == 1)  // not 3: KEDA activates to max(minReplicaCount, 1)
        var floor = autoscaler(.init(minReplicaCount: 2))
        #expect(floor.reconcile(values: [1], spec: 0, status: 0, now: 0) == 2)
    }

    @Test func kedaScalesToZeroOnlyAfterTheCooldownWithEveryTriggerInactive() {
        var hpa = autoscaler(.init(cooldown: 300))
        #expect(hpa.reconcile(values: [3], spec: 3, status: 3, now: 0) == 3)
        #expect(hpa.reconcile(values: [0], spec: 3, status: 3, now: 100) == 3)  // the HPA's window holds 3
        #expect(hpa.reconcile(values: [0], spec: 3, status: 3, now: 299) == 3)
        #expect(hpa.reconcile(values: [0], spec: 3, status: 3, now: 300) == 0)
        var busy = autoscaler(.init(cooldown: 300), targets: [1, 1])
        #expect(busy.reconcile(values: [0, 2], spec: 2, status: 2, now: 400) == 2)
        #expect(busy.reconcile(values: [0, 2], spec: 2, status: 2, now: 800) == 2)
    }

    @Test func maxReplicasBoundsTheResult() {
        var hpa = autoscaler(.init(maxReplicas: 3))
        #expect(hpa.reconcile(values: [9], spec: 2, status: 2, now: 0) == 3)
    }
}
