import Testing
@testable import ModelConfig

struct ValidationTests {
    /// Each error class, with the exact message `check-config` prints.
    @Test(arguments: [
        ("enable_scale_to_zero: \"yes please\"",
         "cm/default:1: default: enable_scale_to_zero: expected a boolean (true or false), found string \"yes please\""),
        ("enable_scale_to_zero: \"true\"",
         "cm/default:1: default: enable_scale_to_zero: expected a boolean (true or false), found string \"true\" (remove the quotes)"),
        ("enable_scale_to_zero: yess",
         "cm/default:1: default: enable_scale_to_zero: expected a boolean (true or false), found \"yess\""),
        ("retention_periods: 5m",
         "cm/default:1: default: retention_periods: unknown field (did you mean `retention_period`?); expected one of: aliases, cold_start_cost, enable_scale_to_zero, group, keep_alive, max_replicas, max_waiting_per_replica, min_replicas, min_retention_period, model_id, namespace, prewarm, retention_period, target_concurrency, target_kv_cache_utilization, variant_name, wake_path"),
        ("retention_period: 5 minutes",
         "cm/default:1: default: retention_period: expected a duration such as 30s, 5m, 1h30m, 1.5h, 2d or 1w, found \"5 minutes\""),
        ("retention_period: 600",
         "cm/default:1: default: retention_period: expected a duration such as 30s, 5m, 1h30m, 1.5h, 2d or 1w, found number 600 (a unit is required, e.g. 600s or 600m)"),
        ("retention_period: 0s",
         "cm/default:1: default: retention_period: expected a duration greater than 0, found \"0s\""),
        ("min_replicas: 3\nmax_replicas: 2",
         "cm/default:1: default: min_replicas: min_replicas (3) is greater than max_replicas (2); expected min_replicas ≤ max_replicas"),
        ("min_replicas: -1", "cm/default:1: default: min_replicas: expected a whole number ≥ 0, found number -1"),
        ("max_replicas: 0", "cm/default:1: default: max_replicas: expected a whole number ≥ 1, found number 0"),
        ("target_concurrency: \"8\"", "cm/default:1: default: target_concurrency: expected a number greater than 0, found string \"8\""),
        ("retention_period: [5m]", "cm/default:1: default: retention_period: expected a duration such as 30s, 5m, 1h30m, 1.5h, 2d or 1w, found a list"),
        ("- a\n- b", "cm/default:1: default: expected a mapping of fields (like `model_id: meta/llama-3.1-8b`), found a list"),
        ("enable_scale_to_zero: [true", "cm/default:1: default: invalid YAML: while parsing a flow sequence did not find expected ',' or ']' (column 1)"),
    ])
    func eachErrorClassIsReportedWithKeyFieldLineAndExpectation(text: String, message: String) {
        let set = configSet(["default": text])
        #expect(set.problems.map(\.description) == [message])
        #expect(set.errorCount == 1)
    }

    /// Found by fuzzing (scripts/fuzz config): with a non-scalar key among duplicate keys, Yams'
    /// order of the keys (and so the message and its line) changed from one build to the next, and
    /// a reader error carried the raw control character and a multi-line snippet.
    @Test(arguments: [
        ("a: 1\na: 2\n? [k]\n: 1\n? [k]\n: 2\n",
         "cm/default: default: invalid YAML: duplicate field(s) (a non-scalar key), `a`"),
        ("b: 1\na: 2\nb: 3\na: 4\n", "cm/default:2: default: invalid YAML: duplicate field(s) `a`, `b`"),
        ("enable_scale_to_zero: true\r\nretention_period: 5m\nx: \u{1}\n",
         "cm/default:3: default: invalid YAML: control characters are not allowed (U+1)"),
    ])
    func yamlErrorsAreOneDeterministicLine(text: String, message: String) {
        let first = configSet(["default": text])
        #expect(first.problems.map(\.description) == [message])
        for _ in 0..<20 {
            #expect(configSet(["default": text], previous: first).problems == first.problems)
        }
    }

    /// Found by fuzzing (scripts/fuzz config): a multi-line scalar or a quoted key with a line
    /// break, quoted back in a message, split the `check-config` line and the log line.
    @Test(arguments: [
        ("ma\r=\r\r\r\r\r.\r\r", #"cm/default:1: default: expected a mapping of fields (like `model_id: meta/llama-3.1-8b`), found "ma =\n\n\n\n.""#),
        ("\"a\\nb\": 1", #"cm/default:1: default: a\nb: unknown field; expected one of: "#),
        ("enable_scale_to_zero: \"\\u001b[31mred\"", #"cm/default:1: default: enable_scale_to_zero: expected a boolean (true or false), found string "\u{1b}[31mred""#),
    ])
    func everyProblemIsPrintedOnOneLine(text: String, start: String) {
        let descriptions = configSet(["default": text]).problems.map(\.description)
        #expect(descriptions.count == 1)
        #expect(descriptions.first?.hasPrefix(start) == true, "\(descriptions)")
        #expect(descriptions.allSatisfy { !$0.unicodeScalars.contains { $0.value < 0x20 } })
    }

    @Test func overrideWithoutModelIDIsAnError() {
        let set = configSet(["x": "retention_period: 5m"])
        #expect(set.problems.map(\.description) == ["cm/x:1: x: model_id: missing: an override entry must name its model_id"])
        #expect(set.overrides.isEmpty)
    }

    @Test func retentionOverADayIsAWarningNotAnError() {
        let set = configSet(["default": "retention_period: 2d"])
        #expect(set.errorCount == 0)
        #expect(set.problems.count == 1)
        #expect(set.problems[0].severity == .warning)
        #expect(set.defaults?.settings.retentionPeriod?.seconds == 172_800)
    }

    @Test func fieldsThatMeanNothingInDefaultAreIgnoredWithAWarning() {
        let set = configSet(["default": "model_id: x\nvariant_name: v\ngroup: g\nenable_scale_to_zero: true"])
        #expect(set.errorCount == 0)
        #expect(set.problems.map(\.field) == ["model_id", "variant_name", "group"])
        #expect(set.defaults?.settings.variantName == nil)
        #expect(set.defaults?.settings.enableScaleToZero == true)
    }

    @Test func unknownFieldInGlobalIsAnError() {
        let set = configSet(["global": "scale_to_zero_allowd: false"])
        #expect(set.errorCount == 1)
        #expect(set.problems[0].field == "scale_to_zero_allowd")
        // A broken global with no good version engages the kill switch.
        #expect(ConfigResolver(config: set, environmentScaleToZero: nil).killSwitchEngaged)
    }
}

/// A bad edit never makes scale-to-zero more aggressive.
struct LastGoodTests {
    @Test func brokenEditKeepsTheLastGoodVersionOfThatEntry() {
        let good = configSet(["default": "enable_scale_to_zero: true", "m": "model_id: m\nenable_scale_to_zero: false"])
        let edited = configSet(["default": "enable_scale_to_zero: true", "m": "model_id: m\nenable_scale_to_zero: nope"], previous: good)
        #expect(edited.retainedKeys == ["m"])
        #expect(edited.errorCount == 1)
        let resolved = ConfigResolver(config: edited, environmentScaleToZero: nil).resolve(ModelKey(namespace: "ns", modelID: "m"))
        #expect(resolved.enableScaleToZero == false)
        #expect(resolved.sources[.enableScaleToZero] == .override(key: "m"))
    }

    @Test func brokenEntryWithoutGoodVersionDisablesTheModelItNames() {
        let set = configSet(["default": "enable_scale_to_zero: true", "m": "model_id: m\nretention_period: 1 minute"])
        let resolver = ConfigResolver(config: set, environmentScaleToZero: true)
        let m = resolver.resolve(ModelKey(namespace: "ns", modelID: "m"))
        #expect(m.enableScaleToZero == false)
        #expect(m.sources[.enableScaleToZero] == .invalidEntry(key: "m"))
        #expect(resolver.resolve(ModelKey(namespace: "ns", modelID: "other")).enableScaleToZero == true)
    }

    @Test(arguments: [
        "model_id: m\nmin_replicas: 3\nenable_scale_to_zero: nope",  // valid YAML, one bad field
        "model_id: m\nmin_replicas: 3\nenable_scale_to_zero: [true",  // not valid YAML: a line scan
    ])
    func brokenEntryWithoutGoodVersionKeepsTheMinReplicasItStates(_ text: String) {
        let set = configSet(["default": "min_replicas: 1", "m": text])
        let m = ConfigResolver(config: set, environmentScaleToZero: true).resolve(ModelKey(namespace: "ns", modelID: "m"))
        #expect(m.enableScaleToZero == false)
        #expect(m.minReplicas == 3)
        #expect(m.activeFloor == 3)
        #expect(m.sources[.minReplicas] == .invalidEntry(key: "m"))
    }

    @Test func aLowerMinReplicasInABrokenEntryLowersNothing() {
        let set = configSet(["default": "min_replicas: 2", "m": "model_id: m\nmin_replicas: 0\nfoo: 1"])
        let m = ConfigResolver(config: set, environmentScaleToZero: true).resolve(ModelKey(namespace: "ns", modelID: "m"))
        #expect(m.minReplicas == 2)
        #expect(m.sources[.minReplicas] == .defaults)
    }

    @Test func modelOfAnEntryThatIsNotValidYAMLIsStillProtected() {
        let set = configSet(["default": "enable_scale_to_zero: true", "m": "model_id: org/m  # comment\nenable_scale_to_zero: [true"])
        #expect(set.quarantined == [ModelConfigSet.Quarantine(key: "m", modelID: "org/m", namespace: nil, minReplicas: nil)])
        let m = ConfigResolver(config: set, environmentScaleToZero: nil).resolve(ModelKey(namespace: "ns", modelID: "org/m"))
        #expect(m.enableScaleToZero == false)
    }

    /// A ConfigMap edited with CRLF line endings: `\r\n` is one Swift `Character`, so a scan that
    /// split on `"\n"` found no `model_id` and the model named by the broken entry was unprotected.
    @Test func modelOfABrokenEntryWithCRLFLineEndingsIsStillProtected() {
        let set = configSet(["default": "enable_scale_to_zero: true", "m": "model_id: org/m\r\nnamespace: prod\r\nenable_scale_to_zero: [true\r\n"])
        #expect(set.quarantined == [ModelConfigSet.Quarantine(key: "m", modelID: "org/m", namespace: "prod")])
        #expect(!ConfigResolver(config: set, environmentScaleToZero: nil).resolve(ModelKey(namespace: "prod", modelID: "org/m")).enableScaleToZero)
    }

    @Test func brokenNamespacedEntryProtectsOnlyThatNamespace() {
        let set = configSet(["default": "enable_scale_to_zero: true", "m": "model_id: m\nnamespace: prod\nfoo: 1"])
        let resolver = ConfigResolver(config: set, environmentScaleToZero: nil)
        #expect(resolver.resolve(ModelKey(namespace: "prod", modelID: "m")).enableScaleToZero == false)
        #expect(resolver.resolve(ModelKey(namespace: "dev", modelID: "m")).enableScaleToZero == true)
    }

    @Test func brokenDefaultWithoutGoodVersionProtectsEveryModelButNotExplicitOverrides() {
        let set = configSet(["default": "enable_scale_to_zero: maybe", "m": "model_id: m\nretention_period: 1m"])
        let resolver = ConfigResolver(config: set, environmentScaleToZero: true)
        let other = resolver.resolve(ModelKey(namespace: "ns", modelID: "other"))
        #expect(other.enableScaleToZero == false)
        #expect(other.sources[.enableScaleToZero] == .invalidEntry(key: "default"))
    }

    @Test func fixingTheEntryReplacesTheRetainedVersion() {
        let good = configSet(["m": "model_id: m\nretention_period: 5m"])
        let broken = configSet(["m": "model_id: m\nretention_period: x"], previous: good)
        let fixed = configSet(["m": "model_id: m\nretention_period: 7m"], previous: broken)
        #expect(broken.overrides.first?.settings.retentionPeriod?.seconds == 300)
        #expect(fixed.overrides.first?.settings.retentionPeriod?.seconds == 420)
        #expect(fixed.retainedKeys.isEmpty)
        #expect(fixed.problems.isEmpty)
    }
}
