import Foundation
import Testing
import Yams

/// The alert rules: rendered from the chart, valid, and tested with promtool for the failure each
/// exists for (config/prometheus/alerts.test.yaml).
struct AlertTests {
    static let rulesFile = root + "/config/prometheus/alerts.rules.yaml"
    static let testsFile = root + "/config/prometheus/alerts.test.yaml"

    /// The rule file content (`spec` of the PrometheusRule) the chart renders with `arguments`.
    func renderedRules(_ arguments: [String] = [], values: String? = nil) throws -> String {
        var extra = arguments
        let file = try values.map(valuesFile)
        defer { if let file { try? FileManager.default.removeItem(atPath: file) } }
        if let file { extra += ["-f", file] }
        let (status, output) = try run("helm", [
            "template", "replica-recommender", chart, "--namespace", "monitoring", "--set", "prometheusRule.enabled=true",
            "--show-only", "templates/prometheusrule.yaml",
        ] + extra)
        try #require(status == 0, "\(output)")
        var lines: [Substring] = []
        var inSpec = false
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if inSpec { lines.append(line.hasPrefix("  ") ? line.dropFirst(2) : line) }
            if line == "spec:" { inSpec = true }
        }
        return lines.joined(separator: "\n")
    }

    @Test func theRulesFileIsTheChartsRendering() throws {
        let file = try String(contentsOfFile: Self.rulesFile, encoding: .utf8)
        let body = file.split(separator: "\n", omittingEmptySubsequences: false).drop { $0.hasPrefix("#") }.joined(separator: "\n")
        #expect(body == (try renderedRules()), "config/prometheus/alerts.rules.yaml is stale: run scripts/render-alerts")
    }

    @Test func alertRulesAreValid() throws {
        let (status, output) = try run("promtool", ["check", "rules", "alerts.rules.yaml"], directory: root + "/config/prometheus")
        #expect(status == 0, "\(output)")
        #expect(output.contains("SUCCESS: 9 rules found"), "\(output)")
    }

    @Test func everyAlertFiresAndStaysQuietAsTested() throws {
        let (status, output) = try run("promtool", ["test", "rules", "alerts.test.yaml"], directory: root + "/config/prometheus")
        #expect(status == 0, "\(output)")
        // Every alert of the rules file has a test where it fires and one where it stays silent.
        let rules = try Yams.load(yaml: String(contentsOfFile: Self.rulesFile, encoding: .utf8))
        let names = (dig(rules, "groups", "0", "rules") as? [[String: Any]] ?? []).compactMap { $0["alert"] as? String }
        #expect(names.count == 9)
        let tests = try Yams.load(yaml: String(contentsOfFile: Self.testsFile, encoding: .utf8))
        let cases = (dig(tests, "tests") as? [[String: Any]] ?? []).flatMap { $0["alert_rule_test"] as? [[String: Any]] ?? [] }
        for name in names {
            let mine = cases.filter { $0["alertname"] as? String == name }
            #expect(mine.contains { ($0["exp_alerts"] as? [Any])?.isEmpty == false }, "no firing test for \(name)")
            #expect(mine.contains { ($0["exp_alerts"] as? [Any])?.isEmpty ?? true }, "no silent test for \(name)")
        }
    }

    @Test func alertThresholdsAndScopeComeFromValues() throws {
        let rules = try Yams.load(yaml: try renderedRules(["-f", allOptions]))
        let byName = Dictionary((dig(rules, "groups", "0", "rules") as? [[String: Any]] ?? []).compactMap { rule in
            (rule["alert"] as? String).map { ($0, rule) }
        }, uniquingKeysWith: { first, _ in first })
        #expect(byName["ReplicaRecommenderModelStuckWaking"]?["for"] as? String == "45m")
        #expect(dig(byName["ReplicaRecommenderModelStuckWaking"], "labels", "severity") as? String == "warning")
        #expect((byName["ReplicaRecommenderNotDeciding"]?["expr"] as? String)?.contains(#"recommender_last_tick_success_timestamp_seconds{job="replica-recommender"} > 600"#) == true)
        #expect((byName["ReplicaRecommenderWakePathGone"]?["expr"] as? String)?.contains("> 7200") == true)
        #expect(byName["ReplicaRecommenderDown"]?["expr"] as? String == #"absent(recommender_last_tick_success_timestamp_seconds{job="replica-recommender"})"#)
        // The gateway selector reaches the gateway series.
        #expect((byName["ReplicaRecommenderDemandWhileZero"]?["expr"] as? String)?.contains(#"llm_d_epp_flow_control_queue_size{namespace!="",job="epp"}"#) == true)
    }

    @Test func aTargetWhoseSeriesIsAbsentAlertsAndOneWhoseSeriesExistsDoesNot() throws {
        let rules = try renderedRules(values: """
            autoscaling:
              targets:
                - {name: present, namespace: llm, model: meta/llama-3.1-8b, autoscaler: keda}
                - {name: mismatch, namespace: llm, model: org/other, variantName: other-autoscaler, autoscaler: hpa}
                - {name: unmanaged, namespace: llm, model: org/none, autoscaler: none}
            """)
        let directory = NSTemporaryDirectory() + "rr-alerts-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try rules.write(toFile: directory + "/rules.yaml", atomically: true, encoding: .utf8)
        try """
            rule_files: [rules.yaml]
            evaluation_interval: 1m
            tests:
              - interval: 1m
                input_series:
                  # Exported under the derived variant name: the ScaledObject finds it.
                  - series: 'inferno_desired_replicas{variantautoscaling_name="llama-3-1-8b",variantautoscaling_namespace="llm",model_name="meta/llama-3.1-8b"}'
                    values: '1x20'
                  # The HPA's target expects other-autoscaler; the service exports the derived "other".
                  - series: 'inferno_desired_replicas{variantautoscaling_name="other",variantautoscaling_namespace="llm",model_name="org/other"}'
                    values: '1x20'
                alert_rule_test:
                  - eval_time: 5m
                    alertname: ReplicaRecommenderTargetSeriesAbsent
                    exp_alerts: []
                  - eval_time: 11m
                    alertname: ReplicaRecommenderTargetSeriesAbsent
                    exp_alerts:
                      - exp_labels: {severity: critical, target: mismatch, target_kind: Deployment, autoscaler: hpa, variantautoscaling_name: other-autoscaler, variantautoscaling_namespace: llm}
                        exp_annotations:
                          summary: "No recommendation for Deployment llm/mismatch (variant other-autoscaler)"
                          description: "inferno_desired_replicas{variantautoscaling_name=\\"other-autoscaler\\",variantautoscaling_namespace=\\"llm\\"} has been absent for 10m: the HPA never scales the workload. Check that the model's variant_name (or the id it is derived from) matches the target, and `replica-recommender explain --consumer hpa`."
            """.write(toFile: directory + "/test.yaml", atomically: true, encoding: .utf8)
        let (status, output) = try run("promtool", ["test", "rules", "test.yaml"], directory: directory)
        #expect(status == 0, "\(output)")
        #expect(rules.components(separatedBy: "alert: ReplicaRecommenderTargetSeriesAbsent").count - 1 == 2)
    }
}
