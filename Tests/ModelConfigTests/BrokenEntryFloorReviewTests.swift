import Testing
@testable import ModelConfig

/// Review of the floor a broken entry with no good version keeps (commit 3262278): these state what
/// the contract implies and fail on the code as it is.
struct BrokenEntryFloorReviewTests {
    /// Field-by-field resolution: a good override's own `min_replicas` is more specific than `default`.
    /// A broken `default` protects every model from zero, but its salvaged floor must not override an
    /// override that states its own floor (one typo in `default` would raise every model of the fleet).
    @Test func aBrokenDefaultsFloorDoesNotOverrideAModelsOwnMinReplicas() {
        let set = configSet([
            "default": "min_replicas: 3\nenable_scale_to_zero: nope",
            "small": "model_id: small\nmin_replicas: 1\nenable_scale_to_zero: true",
        ])
        let small = ConfigResolver(config: set, environmentScaleToZero: nil).resolve(ModelKey(namespace: "ns", modelID: "small"))
        #expect(small.enableScaleToZero == false)
        #expect(small.minReplicas == 1, "the model's own good entry says min_replicas: 1; resolved \(small.minReplicas) from the broken default")
    }

    /// An entry rejected because `min_replicas` exceeds its own `max_replicas` (a typo: 40 for 4)
    /// must not have the rejected value applied above the bound the same entry states.
    @Test func aFloorRejectedForExceedingItsOwnMaxReplicasIsNotApplied() {
        let set = configSet(["m": "model_id: m\nmin_replicas: 40\nmax_replicas: 4"])
        let m = ConfigResolver(config: set, environmentScaleToZero: nil).resolve(ModelKey(namespace: "ns", modelID: "m"))
        #expect(m.activeFloor <= 4, "floor \(m.activeFloor) from an entry rejected because min_replicas 40 > max_replicas 4")
    }

    /// A broken model entry's own floor holds whether or not `default` is broken too, whatever the
    /// key names' order (`default` sorts before `llama`).
    @Test func aBrokenEntrysFloorHoldsWhenDefaultIsBrokenToo() {
        let set = configSet([
            "default": "enable_scale_to_zero: nope",
            "llama": "model_id: llama\nmin_replicas: 4\nfoo: 1",
        ])
        let m = ConfigResolver(config: set, environmentScaleToZero: nil).resolve(ModelKey(namespace: "ns", modelID: "llama"))
        #expect(m.minReplicas == 4, "llama's broken entry states min_replicas: 4; resolved \(m.minReplicas)")
    }

    /// The line scan of an entry that is not valid YAML reads a `min_replicas:` line nested in
    /// another mapping or inside a block scalar as the entry's own floor.
    @Test func aMinReplicasLineInsideABlockScalarIsNotTheEntrysFloor() {
        let text = "model_id: m\nnotes: |\n  min_replicas: 50\nenable_scale_to_zero: [true"
        let set = configSet(["m": text])
        let m = ConfigResolver(config: set, environmentScaleToZero: nil).resolve(ModelKey(namespace: "ns", modelID: "m"))
        #expect(m.minReplicas <= 1, "floor \(m.minReplicas) read from a block scalar's text")
    }
}
