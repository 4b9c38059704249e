import Testing
@testable import ModelConfig

/// ConfigMaps written for WVA are read as WVA reads them (Go's yaml.v3 into typed fields, then
/// `time.ParseDuration`), with a warning for each compatibility reading so users can clean up.
/// yaml.v3 behaviour encoded here: `resolve.go` resolves `""`, `~`, `null`, `Null`, `NULL` to
/// null; `decode.go` reads y/Y/yes/Yes/YES/on/On/ON and n/N/no/No/NO/off/Off/OFF into a bool field,
/// quoted or not, and rejects a quoted "true".
struct CompatibilityTests {
    struct Unset: Sendable, CustomTestStringConvertible {
        let field: String
        let value: String
        let shown: String
        var testDescription: String { "\(field): \(value)" }
    }

    static let unsetForms: [Unset] = [
        Unset(field: "enable_scale_to_zero", value: "null", shown: "`null`"),
        Unset(field: "enable_scale_to_zero", value: "~", shown: "`~`"),
        Unset(field: "enable_scale_to_zero", value: "", shown: "no value"),
        Unset(field: "enable_scale_to_zero", value: "\"\"", shown: "an empty string"),
        Unset(field: "enable_scale_to_zero", value: "NULL", shown: "`NULL`"),
        Unset(field: "retention_period", value: "\"\"", shown: "an empty string"),
        Unset(field: "retention_period", value: "''", shown: "an empty string"),
        Unset(field: "retention_period", value: "Null", shown: "`Null`"),
        Unset(field: "namespace", value: "null", shown: "`null`"),
        Unset(field: "variant_name", value: "~", shown: "`~`"),
        Unset(field: "min_replicas", value: "null", shown: "`null`"),
        Unset(field: "max_replicas", value: "\"\"", shown: "an empty string"),
        Unset(field: "target_concurrency", value: "~", shown: "`~`"),
        Unset(field: "group", value: "", shown: "no value"),
        Unset(field: "aliases", value: "null", shown: "`null`"),
        Unset(field: "wake_path", value: "\"\"", shown: "an empty string"),
        Unset(field: "keep_alive", value: "~", shown: "`~`"),
        Unset(field: "cold_start_cost", value: "null", shown: "`null`"),
        Unset(field: "min_retention_period", value: "\"\"", shown: "an empty string"),
        Unset(field: "prewarm", value: "null", shown: "`null`"),
        Unset(field: "target_kv_cache_utilization", value: "~", shown: "`~`"),
        Unset(field: "max_waiting_per_replica", value: "null", shown: "`null`"),
    ]

    @Test(arguments: unsetForms)
    func nullOrEmptyLeavesTheFieldUnsetWithAWarning(_ c: Unset) {
        let entries = ["x": "model_id: m\n\(c.field): \(c.value)\n"]
        let set = configSet(entries)
        #expect(set.errorCount == 0)
        #expect(set.problems.map(\.description) == [
            "cm/x:2: warning: x: \(c.field): WVA compatibility: \(c.shown) leaves the field unset; it falls through to the next level (remove the line)"
        ])
        #expect(set.overrides.map(\.settings) == [ModelSettings()])
        if let field = ConfigField(rawValue: c.field) {
            #expect(resolve(entries, model: "m").sources[field] != .override(key: "x"))
        }
    }

    @Test func aNullFieldFallsThroughToTheDefaultEntry() {
        let entries = [
            "default": "enable_scale_to_zero: false\nretention_period: 20m",
            "x": "model_id: m\nenable_scale_to_zero: null\nretention_period: \"\"",
        ]
        let resolved = resolve(entries, model: "m", env: true)
        #expect(resolved.enableScaleToZero == false)
        #expect(resolved.sources[.enableScaleToZero] == .defaults)
        #expect(resolved.retention.seconds == 1200)
        #expect(resolved.sources[.retentionPeriod] == .defaults)
        // With no default it falls to the environment, then the system.
        let bare = resolve(["x": "model_id: m\nenable_scale_to_zero: ~"], model: "m", env: true)
        #expect(bare.enableScaleToZero)
        #expect(bare.sources[.enableScaleToZero] == .environment)
    }

    @Test func aNullNamespaceAppliesToEveryNamespace() {
        let resolved = resolve(["x": "model_id: m\nnamespace: null\nretention_period: 2m"], model: "m", namespace: "any")
        #expect(resolved.retention.seconds == 120)
    }

    @Test func aNullModelIDInAnOverrideIsStillAMissingModelID() {
        let set = configSet(["x": "model_id: null\nretention_period: 2m"])
        #expect(set.problems.map(\.description) == [
            "cm/x:1: warning: x: model_id: WVA compatibility: `null` leaves the field unset; it falls through to the next level (remove the line)",
            "cm/x:1: x: model_id: missing: an override entry must name its model_id",
        ])
        #expect(set.errorCount == 1)
    }

    @Test func aNullKillSwitchIsUnsetNotEngaged() {
        let set = configSet(["global": "scale_to_zero_allowed: ~"])
        #expect(set.errorCount == 0)
        #expect(set.problems.count == 1)
        #expect(!ConfigResolver(config: set, environmentScaleToZero: nil).killSwitchEngaged)
    }

    @Test(arguments: [
        ("yes", true, "\"yes\""), ("Yes", true, "\"Yes\""), ("YES", true, "\"YES\""), ("yEs", true, "\"yEs\""),
        ("on", true, "\"on\""), ("ON", true, "\"ON\""), ("y", true, "\"y\""), ("Y", true, "\"Y\""),
        ("no", false, "\"no\""), ("NO", false, "\"NO\""), ("off", false, "\"off\""), ("Off", false, "\"Off\""),
        ("oFF", false, "\"oFF\""), ("n", false, "\"n\""), ("N", false, "\"N\""),
        ("\"yes\"", true, "string \"yes\""), ("'off'", false, "string \"off\""),
    ] as [(String, Bool, String)])
    func yaml11BooleansAreReadWithAWarning(text: String, value: Bool, shown: String) {
        for field in ["enable_scale_to_zero", "prewarm"] {
            let set = configSet(["default": "\(field): \(text)"])
            #expect(set.errorCount == 0)
            #expect(set.problems.map(\.description) == [
                "cm/default:1: warning: default: \(field): WVA compatibility: \(shown) read as \(value) (a YAML 1.1 boolean); write \(value)"
            ])
            let path: KeyPath<ModelSettings, Bool?> = field == "prewarm" ? \.prewarm : \.enableScaleToZero
            #expect(set.defaults?.settings[keyPath: path] == value)
        }
        let global = configSet(["global": "scale_to_zero_allowed: \(text)"])
        #expect(global.errorCount == 0)
        #expect(global.global.scaleToZeroAllowed == value)
    }

    @Test(arguments: [("true", true), ("True", true), ("TRUE", true), ("false", false), ("FALSE", false)])
    func yaml12BooleansNeedNoWarning(text: String, value: Bool) {
        let set = configSet(["default": "enable_scale_to_zero: \(text)"])
        #expect(set.problems.isEmpty)
        #expect(set.defaults?.settings.enableScaleToZero == value)
    }

    @Test(arguments: ["\"true\"", "ye", "1", "0", "enabled", "yes please", "\"\\tyes\""])
    func otherWordsAreStillNotBooleans(text: String) {
        let set = configSet(["default": "enable_scale_to_zero: \(text)"])
        #expect(set.errorCount == 1)
        #expect(set.problems.first?.message.hasPrefix("expected a boolean (true or false)") == true)
    }

    @Test(arguments: [
        ("retention_period: +5m", 300.0, [
            "cm/x:2: warning: x: retention_period: WVA compatibility: the leading + of \"+5m\" is ignored; write 5m",
        ]),
        ("retention_period: 1ns", 1e-9, [
            "cm/x:2: warning: x: retention_period: 1ns has a sub-millisecond part: kept exactly for the decision, queried as the PromQL range 1ms (Prometheus ranges stop at milliseconds)",
        ]),
        ("retention_period: 1us", 1e-6, [
            "cm/x:2: warning: x: retention_period: 1us has a sub-millisecond part: kept exactly for the decision, queried as the PromQL range 1ms (Prometheus ranges stop at milliseconds)",
        ]),
        ("retention_period: 1h2m3.5s", 3723.5, []),
        ("retention_period: \"1.5h\"", 5400.0, []),
    ] as [(String, Double, [String])])
    func goDurationsAreReadExactly(text: String, seconds: Double, warnings: [String]) {
        let entries = ["x": "model_id: m\n" + text]
        let set = configSet(entries)
        #expect(set.errorCount == 0)
        #expect(set.problems.map(\.description) == warnings)
        #expect(resolve(entries, model: "m").retention.seconds == seconds)
    }

    @Test(arguments: [
        ("retention_period: -5m", "expected a duration greater than 0, found \"-5m\""),
        ("retention_period: \" 5m\"",
         "expected a duration such as 30s, 5m, 1h30m, 1.5h, 2d or 1w, found string \" 5m\" (remove the spaces)"),
        ("retention_period: 0", "expected a duration greater than 0, found number 0"),
        ("retention_period: 9223372036854775808ns",
         "expected a duration such as 30s, 5m, 1h30m, 1.5h, 2d or 1w, found \"9223372036854775808ns\""),
    ])
    func durationsGoRejectsAreErrors(text: String, message: String) {
        let set = configSet(["x": "model_id: m\n" + text])
        #expect(set.problems.map(\.message) == [message])
    }

    @Test func eachCompatibilityReadingIsOneWarningLineWithFileKeyFieldAndLine() {
        let set = configSet(["x": "model_id: m\nnamespace: ~\nenable_scale_to_zero: yes\nretention_period: +10m\nprewarm: \"\"\n"])
        #expect(set.errorCount == 0)
        #expect(set.problems.map(\.description) == [
            "cm/x:2: warning: x: namespace: WVA compatibility: `~` leaves the field unset; it falls through to the next level (remove the line)",
            "cm/x:3: warning: x: enable_scale_to_zero: WVA compatibility: \"yes\" read as true (a YAML 1.1 boolean); write true",
            "cm/x:4: warning: x: retention_period: WVA compatibility: the leading + of \"+10m\" is ignored; write 10m",
            "cm/x:5: warning: x: prewarm: WVA compatibility: an empty string leaves the field unset; it falls through to the next level (remove the line)",
        ])
    }
}

/// Two entries for one `model_id` + `namespace` are an error, and the model takes the more
/// conservative value of each field whichever key sorts first.
struct DuplicateTests {
    @Test(arguments: [
        // (first key's text, second key's text, enable, retention seconds)
        ("enable_scale_to_zero: true\nretention_period: 1m", "enable_scale_to_zero: false\nretention_period: 2m", false, 120.0),
        ("enable_scale_to_zero: false\nretention_period: 5m", "enable_scale_to_zero: true\nretention_period: 2m", false, 300.0),
        ("enable_scale_to_zero: true", "retention_period: 30m", false, 1800.0),  // the second inherits false from default
        ("enable_scale_to_zero: true\nretention_period: 1m", "enable_scale_to_zero: true\nretention_period: 1m", true, 60.0),
    ] as [(String, String, Bool, Double)])
    func duplicatesResolveToTheMoreConservativeValueWhicheverKeySortsFirst(
        first: String, second: String, enable: Bool, retention: Double
    ) {
        for (a, b) in [(first, second), (second, first)] {
            let entries = [
                "default": "enable_scale_to_zero: false\nretention_period: 10s",
                "a": "model_id: m\nnamespace: prod\n" + a,
                "b": "model_id: m\nnamespace: prod\n" + b,
            ]
            let resolved = resolve(entries, model: "m", namespace: "prod")
            #expect(resolved.enableScaleToZero == enable)
            #expect(resolved.retention.seconds == retention)
            let set = configSet(entries)
            #expect(set.errorCount == 1)
            #expect(set.problems.map(\.description) == [
                "cm/b:1: b: model_id: duplicate: model m in namespace prod is also configured by key `a`; expected one entry per model_id and namespace. Until fixed, the model takes the more conservative value of each field (scale-to-zero off if either says off, the longer retention, the higher floor)"
            ])
        }
    }

    @Test func scaleToZeroComesFromTheKeyThatTurnsItOff() {
        let entries = [
            "a-enables": "model_id: m\nenable_scale_to_zero: true\nretention_period: 1m",
            "z-disables": "model_id: m\nenable_scale_to_zero: false",
        ]
        let resolved = resolve(entries, model: "m")
        #expect(!resolved.enableScaleToZero)
        #expect(resolved.sources[.enableScaleToZero] == .override(key: "z-disables"))
        #expect(resolved.retention == ConfigDuration(seconds: 600))
        #expect(resolved.sources[.retentionPeriod] == .system)
    }

    @Test func everyFieldTakesTheSaferSide() {
        let entries = [
            "a": """
                model_id: m
                min_replicas: 1
                max_replicas: 4
                target_concurrency: 8
                aliases: [x, y]
                wake_path: api
                keep_alive: adaptive
                cold_start_cost: 1m
                min_retention_period: 30s
                retention_period: 5m
                prewarm: false
                target_kv_cache_utilization: 0.9
                max_waiting_per_replica: 4
                variant_name: from-a
                group: ga
                """,
            "b": """
                model_id: m
                min_replicas: 2
                max_replicas: 3
                target_concurrency: 4
                aliases: [y, z]
                wake_path: gateway
                keep_alive: fixed
                cold_start_cost: 5m
                min_retention_period: 2m
                retention_period: 3m
                prewarm: true
                target_kv_cache_utilization: 0.5
                max_waiting_per_replica: 1
                variant_name: from-b
                group: gb
                """,
        ]
        let r = resolve(entries, model: "m")
        #expect(r.minReplicas == 2)
        #expect(r.maxReplicas == 4)
        #expect(r.targetConcurrency == 4)
        #expect(r.aliases == ["x", "y", "z"])
        #expect(r.wakePath == .gateway)
        #expect(r.keepAlive == .fixed)
        #expect(r.coldStartCost.seconds == 300)
        #expect(r.minRetention.seconds == 120)
        #expect(r.retention.seconds == 300)
        #expect(r.prewarm)
        #expect(r.targetKVCacheUtilization == 0.5)
        #expect(r.maxWaitingPerReplica == 1)
        #expect(r.variantName == "from-a")
        #expect(r.group == "ga")
        #expect(r.sources[.minReplicas] == .override(key: "b"))
        #expect(r.sources[.maxReplicas] == .override(key: "a"))
        #expect(r.sources[.retentionPeriod] == .override(key: "a"))
        #expect(r.sources[.wakePath] == .override(key: "b"))
    }

    @Test func anUnboundedCeilingIsTheHigherCeiling() {
        let r = resolve(["a": "model_id: m\nmax_replicas: 2", "b": "model_id: m\nmin_replicas: 1"], model: "m")
        #expect(r.maxReplicas == nil)
    }

    @Test func duplicatesAcrossNamespaceScopesCombine() {
        // Two namespace-scoped and two unscoped duplicates: every combination is considered.
        let entries = [
            "p1": "model_id: m\nnamespace: prod\nretention_period: 1m",
            "p2": "model_id: m\nnamespace: prod\nenable_scale_to_zero: true",
            "u1": "model_id: m\nenable_scale_to_zero: true\nretention_period: 4m",
            "u2": "model_id: m\nenable_scale_to_zero: false",
        ]
        let r = resolve(entries, model: "m", namespace: "prod")
        // p1 with u2 says off; p2 with u2 sets no retention at all: the system's 10m is the longest.
        #expect(!r.enableScaleToZero)
        #expect(r.retention.seconds == 600)
        #expect(configSet(entries).errorCount == 2)
    }
}
