import Testing
@testable import ModelConfig

struct ResolutionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let entries: [String: String]
        let model: String
        let namespace: String
        let env: Bool?
        let enable: Bool
        let enableSource: String
        let retentionSeconds: Double
        let retentionSource: String
        var testDescription: String { name }
    }

    static let precedence: [Case] = [
        Case(name: "namespace+model override wins", entries: seedOverview, model: "meta/llama-3.1-8b",
             namespace: "production", env: false, enable: true, enableSource: "override:llama-production",
             retentionSeconds: 1800, retentionSource: "override:llama-production"),
        Case(name: "model override applies in another namespace; enable falls to default", entries: seedOverview,
             model: "meta/llama-3.1-8b", namespace: "dev", env: false, enable: true, enableSource: "default",
             retentionSeconds: 300, retentionSource: "override:llama-8b"),
        Case(name: "model override disables; retention from default", entries: seedOverview,
             model: "meta/llama-3.1-70b", namespace: "dev", env: true, enable: false,
             enableSource: "override:llama-70b", retentionSeconds: 900, retentionSource: "default"),
        Case(name: "unconfigured model takes default", entries: seedOverview, model: "other/model",
             namespace: "x", env: false, enable: true, enableSource: "default", retentionSeconds: 900,
             retentionSource: "default"),
        Case(name: "no default: env enables, system retention", entries: [:], model: "m", namespace: "x",
             env: true, enable: true, enableSource: "env", retentionSeconds: 600, retentionSource: "system"),
        Case(name: "env false is a value from env", entries: [:], model: "m", namespace: "x", env: false,
             enable: false, enableSource: "env", retentionSeconds: 600, retentionSource: "system"),
        Case(name: "nothing set: system default disabled, 10 minutes", entries: [:], model: "m", namespace: "x",
             env: nil, enable: false, enableSource: "system", retentionSeconds: 600, retentionSource: "system"),
        Case(name: "default without enable falls to env", entries: ["default": "retention_period: 20m"],
             model: "m", namespace: "x", env: true, enable: true, enableSource: "env", retentionSeconds: 1200,
             retentionSource: "default"),
        Case(name: "namespace entry inherits enable from model entry, then default",
             entries: [
                "default": "enable_scale_to_zero: false\nretention_period: 1h",
                "m": "model_id: m\nenable_scale_to_zero: true",
                "m-prod": "model_id: m\nnamespace: prod\nretention_period: 2m",
             ],
             model: "m", namespace: "prod", env: nil, enable: true, enableSource: "override:m",
             retentionSeconds: 120, retentionSource: "override:m-prod"),
        Case(name: "namespace entry does not apply in another namespace",
             entries: ["m-prod": "model_id: m\nnamespace: production\nenable_scale_to_zero: true\nretention_period: 2m"],
             model: "m", namespace: "dev", env: nil, enable: false, enableSource: "system",
             retentionSeconds: 600, retentionSource: "system"),
    ]

    @Test(arguments: precedence)
    func eachFieldFallsThroughOnItsOwn(_ c: Case) {
        let resolved = resolve(c.entries, model: c.model, namespace: c.namespace, env: c.env)
        #expect(resolved.enableScaleToZero == c.enable)
        #expect(resolved.sources[.enableScaleToZero]?.description == c.enableSource)
        #expect(resolved.retention.seconds == c.retentionSeconds)
        #expect(resolved.sources[.retentionPeriod]?.description == c.retentionSource)
    }

    @Test(arguments: [
        ("true", true), ("TRUE", true), ("True", true), ("tRuE", true), (" true", false), ("true ", false),
        (" true ", false), ("true\n", false), ("\ttrue", false), ("false", false), ("yes", false), ("1", false),
        ("", false), ("truee", false),
    ] as [(String, Bool)])
    func environmentFlagIsTrueOnlyForTheWordTrueComparedExactly(value: String, expected: Bool) {
        #expect(ConfigResolver.environmentFlag(value) == expected)
    }

    @Test func aPaddedTrueInTheEnvironmentIsWarnedAbout() {
        #expect(ConfigResolver.environmentFlagWarning(" true")
            == "WVA_SCALE_TO_ZERO=\" true\" does not enable scale-to-zero: the value is compared exactly, as WVA does (remove the spaces)")
        #expect(ConfigResolver.environmentFlagWarning("true") == nil)
        #expect(ConfigResolver.environmentFlagWarning("false") == nil)
        #expect(ConfigResolver.environmentFlagWarning(nil) == nil)
    }

    @Test func unsetEnvironmentFlagIsNil() {
        #expect(ConfigResolver.environmentFlag(nil) == nil)
    }

    @Test func extensionFieldsResolveWithSources() {
        let entries = [
            "default": "min_replicas: 2\ntarget_concurrency: 8",
            "a": "model_id: org/a\nvariant_name: a-decode\nmax_replicas: 6\ngroup: org",
        ]
        let resolved = resolve(entries, model: "org/a")
        #expect(resolved.variantName == "a-decode")
        #expect(resolved.minReplicas == 2)
        #expect(resolved.maxReplicas == 6)
        #expect(resolved.targetConcurrency == 8)
        #expect(resolved.group == "org")
        #expect(resolved.sources[.variantName] == .override(key: "a"))
        #expect(resolved.sources[.minReplicas] == .defaults)
        #expect(resolved.sources[.maxReplicas] == .override(key: "a"))
        #expect(resolved.sources[.targetConcurrency] == .defaults)
        #expect(resolved.activeFloor == 2)
    }

    @Test(arguments: [
        ("meta/llama-3.1-8b", "llama-3-1-8b"), ("Qwen/Qwen2.5-7B-Instruct", "qwen2-5-7b-instruct"),
        ("granite", "granite"), ("a/b/c_d", "c-d"), ("__", "model"),
    ])
    func variantNameIsDerivedFromTheModelID(id: String, expected: String) {
        let resolved = resolve([:], model: id)
        #expect(resolved.variantName == expected)
        #expect(resolved.sources[.variantName] == .derived)
    }

    @Test func killSwitchIsReadFromTheGlobalEntry() {
        let on = ConfigResolver(config: configSet(["global": "scale_to_zero_allowed: false"]), environmentScaleToZero: nil)
        let off = ConfigResolver(config: configSet(["global": "scale_to_zero_allowed: true"]), environmentScaleToZero: nil)
        #expect(on.killSwitchEngaged)
        #expect(!off.killSwitchEngaged)
        #expect(!ConfigResolver(config: configSet([:]), environmentScaleToZero: nil).killSwitchEngaged)
    }
}
