import Testing
@testable import FaultSimulation

/// Schedules that broke a promise in a campaign (`rr-bench faults`), replayed exactly: each names
/// the fix that made it pass. A schedule is a pure function of its seed, so a fix undone fails here.
struct CampaignSeedTests {
    static let seeds: [(seed: UInt64, fix: String)] = [
        (7_494_400_988_228_552_282, "checker: a wake accepted before recovery is lost in a crash (nothing is exported before the first decision)"),
        (17_105_449_913_401_573_229, "checker: a wake accepted before recovery is lost in a crash (nothing is exported before the first decision)"),
        (6_471_270_527_779_385_944, "a gateway target present but not counted (short scrape gap) is read back when counted again"),
        (200_417_167_347_443_535, "a gateway target present but not counted (short scrape gap) is read back when counted again"),
        (341_427_952_639_274_332, "the models recovered are the baseline a later rival is new against (a restart keeps the wake path)"),
        (16_292_195_130_555_387_480, "checker: a twin's unserved gateway requests count for the model (spec §4 attribution)"),
        (10_674_831_049_771_654_591, "checker: a current request counter at 0 is evidence from its first sample"),
        (5_729_852_088_431_572_462, "a gateway series labelled with a namespace where models run is that namespace's demand"),
        (480_628_058_940_352_569, "a gateway series labelled with a namespace where models run is that namespace's demand"),
        (6_900_963_101_566_896_114, "a gateway series labelled with a namespace where models run is that namespace's demand"),
        (15_521_098_117_460_259_587, "requests the gateway counted that no replica counter shows restart the retention"),
        (3_874_504_569_292_181_711, "a gateway count read back over a blind stretch restarts no retention; checker facts as of the queries' evaluation"),
        (9_638_798_212_058_615_501, "checker: facts as of the queries' evaluation (a slow answer is late, not newer)"),
        (4_061_432_040_274_378_944, "checker: facts as of the queries' evaluation (a slow answer is late, not newer)"),
        (11_497_651_978_963_978_017, "checker: facts as of the queries' evaluation (a slow answer is late, not newer)"),
        (16_416_723_268_088_191_328, "checker: what Prometheus scraped is the running process's page, not a crashed one's unscraped output"),
        (17_335_983_384_433_035_398, "a restarted process starts with a fresh signal collector (its first answer reads the gateway back)"),
        (13_925_873_358_993_470_329, "checker: during a failover a replica's series are what the answering replica holds (a TSDB restart's ghost of a pod is not reporting)"),
        (15_260_727_443_853_610_683, "checker: a twin whose pods' scrapes fail has its served gateway requests count for the model too"),
        (12_363_582_012_307_267_950, "checker: demand under an alias a restart no longer ties to the model (a broken entry's last good version forgotten) is not its demand"),
        (7_017_424_685_311_276_407, "checker: a model forgotten after its period unseen is known again only from a source (unlabelled demand for it cannot be placed)"),
        (2_108_580_386_546_881_744, "uncounted gateway requests restart the retention only when the requests window holds R (a new counter's first value already counted them)"),
        (5_757_851_591_934_740_825, "a new process's first answer reads the gateway back from where the last process last read it (recovered)"),
        (16_833_968_030_673_257_759, "a new process's first answer reads the gateway back from where the last process last read it (recovered)"),
        (2_908_720_266_718_910_427, "requests the gateway counted that no replica counter shows restart the retention though the window has an ended series (a container restarted, its pod not ready for a scrape)"),
        (13_360_920_607_623_687_441, "checker: a model reporting only while every answer failed was never knowable to the recommender"),
        (2_891_639_600_023_089_667, "checker: a running gauge that vanished while the TSDB was down is answered for the lookback (no staleness marker): phantom activity, not good data"),
        (2_182_516_148_354_805_395, "max_replicas applies at once whichever rule decided (a model serving while its size is unknown kept its last size above a newly lowered ceiling)"),
        (13_235_911_227_745_305_247, "checker: without flow control the promise for a rejected request lasts R after the rejection, not after a count first sampled after a gateway scrape gap"),
        (14_657_197_161_430_034_803, "a restarted process's first answer counts an error counter born after the last process last read the gateway (present now, absent then: `offset`)"),
        (17_837_146_520_889_071_518, "a restarted process's first answer counts an error counter born after the last process last read the gateway (present now, absent then: `offset`)"),
        (4_768_474_916_190_934_135, "a rejection the gateway counted at the tick that first sees a replica after a wake from zero restarts the retention, whatever its window holds"),
        (3_186_923_050_646_824_414, "the young-window exception of the uncounted-request rule holds at the tick that first sees the replica only (counted again at each tick of the gateway's window, the zero came late: liveness)"),
    ]

    /// Schedules that still break a promise through the service, kept as known issues: the test
    /// fails once one stops reproducing (then move it to `seeds`, naming its fix).
    static let open: [(seed: UInt64, defect: String)] = []

    /// Replays a campaign schedule (the `spec` profile, as `rr-bench faults` generated it).
    static func replay(_ seed: UInt64) async -> RunResult {
        let result = await Simulation(schedule: ScheduleGenerator(profile: .spec).generate(seed: seed), profile: .spec).run()
        #expect(result.harnessError == nil)
        #expect(result.ticks > 5)
        return result
    }

    @Test(arguments: open.map(\.seed))
    func anOpenScheduleStillBreaksAPromise(seed: UInt64) async {
        let result = await Self.replay(seed)
        let defect = Self.open.first { $0.seed == seed }?.defect ?? ""
        withKnownIssue("rr-bench faults --replay \(seed): \(defect)") {
            #expect(result.violations.isEmpty)
        }
    }

    @Test(arguments: seeds.map(\.seed))
    func theScheduleKeepsEveryPromise(seed: UInt64) async {
        let result = await Self.replay(seed)
        let fix = Self.seeds.first { $0.seed == seed }?.fix ?? ""
        #expect(result.violations.isEmpty, "rr-bench faults --replay \(seed) (\(fix)): \(result.violations.prefix(3).map { "\($0)" })")
    }
}
