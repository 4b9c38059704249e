import Testing
@testable import Backtest

struct WorldTests {
    static let parameters = WorldParameters(coldStart: 90, serviceTime: 2, concurrency: 8, queueTimeout: 600)

    @Test func aRequestAtZeroWaitsForTheColdStartAndCountsOneColdStart() {
        var world = ModelWorld(parameters: Self.parameters, arrivals: [100], initialReplicas: 0)
        world.advance(to: 100)
        #expect(world.queued == 1)
        world.scale(to: 1)
        world.advance(to: 200)
        #expect(world.waits == [90])
        #expect(world.coldStarts == 1 && world.wakes == 1)
        #expect(world.completions == [192])
    }

    @Test func aReplicaReadyBeforeTheRequestIsAWakeButNotAColdStart() {
        var world = ModelWorld(parameters: Self.parameters, arrivals: [200], initialReplicas: 0)
        world.scale(to: 1)
        world.advance(to: 300)
        #expect(world.wakes == 1 && world.coldStarts == 0 && world.waits.isEmpty)
        #expect(world.completions == [202])
    }

    @Test func replicaSecondsCountStartingReplicasAndTimeAtZeroIsKept() {
        var world = ModelWorld(parameters: Self.parameters, arrivals: [], initialReplicas: 1)
        world.advance(to: 100)
        world.scale(to: 0)
        world.advance(to: 400)
        world.scale(to: 2)  // both starting until 490
        world.advance(to: 450)
        #expect(world.replicaSeconds == 100 + 2 * 50)
        #expect(world.zeroSeconds == 300)
    }

    @Test func requestsBeyondAReplicasConcurrencyWaitInsideIt() {
        let parameters = WorldParameters(coldStart: 90, serviceTime: 10, concurrency: 2)
        var world = ModelWorld(parameters: parameters, arrivals: [0, 0, 0], initialReplicas: 1)
        world.advance(to: 5)
        #expect(world.scrape.running == 2 && world.scrape.waiting == 1)
        world.advance(to: 30)
        #expect(world.completions == [10, 10, 20])
    }

    @Test func requestsRunningOnTheLastReplicaGoBackToTheGatewayQueue() {
        let parameters = WorldParameters(coldStart: 90, serviceTime: 10, concurrency: 8)
        var world = ModelWorld(parameters: parameters, arrivals: [0], initialReplicas: 1)
        world.advance(to: 5)
        world.scale(to: 0)
        #expect(world.queued == 1)
        world.scale(to: 1)
        world.advance(to: 200)
        #expect(world.waits == [95])
        #expect(world.completions == [105])
    }

    @Test func theGatewayDropsRequestsThatWaitedLongerThanItsTimeout() {
        let parameters = WorldParameters(coldStart: 90, queueTimeout: 60)
        var world = ModelWorld(parameters: parameters, arrivals: [0, 30], initialReplicas: 0)
        world.advance(to: 80)
        #expect(world.dropped == 1 && world.queued == 1)
    }

    @Test func scaleDownRemovesStartingReplicasFirst() {
        var world = ModelWorld(parameters: Self.parameters, arrivals: [], initialReplicas: 1)
        world.scale(to: 3)
        world.scale(to: 1)
        world.advance(to: 200)
        #expect(world.replicas == 1 && world.scrape.ready == 1)
    }

    @Test func theHeapDropsItsLargestSlotAndKeepsItsOrder() {
        var heap = MinHeap()
        for value in [5.0, 1, 9, 3, 7, 2] { heap.push(value) }
        heap.removeLargest()
        #expect([heap.pop(), heap.pop(), heap.pop(), heap.pop(), heap.pop()] == [1, 2, 3, 5, 7])
        #expect(heap.pop() == .infinity)
    }
}
