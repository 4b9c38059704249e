import Foundation
import Testing
import Yams
import ModelConfig

/// The repository root, from this file's path.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let chart = root + "/charts/replica-recommender"
let allOptions = chart + "/ci/all-options-values.yaml"

/// Runs a tool from PATH (helm from .tools/bin when scripts/setup installed it there).
func run(_ tool: String, _ arguments: [String], directory: String = root) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    var environment = ProcessInfo.processInfo.environment
    environment["PATH"] = root + "/.tools/bin:" + (environment["PATH"] ?? "/usr/bin:/bin")
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// `helm template` rendered into objects, by kind.
func render(_ extra: [String] = []) throws -> [String: [[String: Any]]] {
    let (status, output) = try run("helm", ["template", "rr", chart] + extra)
    #expect(status == 0, "helm template: \(output)")
    var objects: [String: [[String: Any]]] = [:]
    for document in try Yams.load_all(yaml: output) {
        guard let object = document as? [String: Any], let kind = object["kind"] as? String else { continue }
        objects[kind, default: []].append(object)
    }
    return objects
}

func dig(_ object: Any?, _ path: String...) -> Any? {
    var current = object
    for key in path {
        if let index = Int(key), let array = current as? [Any] { current = index < array.count ? array[index] : nil }
        else { current = (current as? [String: Any])?[key] }
    }
    return current
}

func env(_ deployment: [String: Any]) -> [String: String] {
    let list = dig(deployment, "spec", "template", "spec", "containers", "0", "env") as? [[String: Any]] ?? []
    var values: [String: String] = [:]
    for item in list { if let name = item["name"] as? String { values[name] = item["value"] as? String } }
    return values
}

struct ChartTests {
    @Test(arguments: [[String](), ["-f", allOptions]])
    func helmLintPasses(values: [String]) throws {
        let (status, output) = try run("helm", ["lint", chart, "--strict"] + values)
        #expect(status == 0, "helm lint: \(output)")
    }

    @Test func defaultValuesRenderAHardenedDeploymentWithTheModelConfigMapMounted() throws {
        let objects = try render()
        #expect(Set(objects.keys) == ["ConfigMap", "Service", "Deployment"])
        let deployment = try #require(objects["Deployment"]?.first)
        #expect(env(deployment)["WVA_SCALE_TO_ZERO"] == "false")
        #expect(dig(deployment, "spec", "template", "spec", "securityContext", "runAsNonRoot") as? Bool == true)
        #expect(dig(deployment, "spec", "template", "spec", "containers", "0", "securityContext", "readOnlyRootFilesystem") as? Bool == true)
        #expect(dig(deployment, "spec", "template", "spec", "containers", "0", "readinessProbe", "httpGet", "path") as? String == "/readyz")
        #expect(dig(deployment, "spec", "template", "spec", "containers", "0", "livenessProbe", "httpGet", "path") as? String == "/healthz")
        #expect(dig(deployment, "spec", "template", "spec", "terminationGracePeriodSeconds") as? Int == 30)
        #expect(dig(deployment, "spec", "template", "spec", "containers", "0", "resources", "requests", "memory") as? String == "64Mi")
        #expect(dig(deployment, "spec", "template", "spec", "volumes", "0", "configMap", "name") as? String == "rr-replica-recommender-models")
        #expect(dig(deployment, "spec", "template", "spec", "containers", "0", "volumeMounts", "0", "mountPath") as? String == "/etc/replica-recommender/models")
        #expect((dig(deployment, "spec", "template", "spec", "containers", "0", "args") as? [String])?.contains("--config=/etc/replica-recommender/models") == true)
    }

    @Test func scaleToZeroValueReachesTheServiceAsWVAScaleToZero() throws {
        let deployment = try #require(try render(["--set", "scaleToZero=true"])["Deployment"]?.first)
        #expect(env(deployment)["WVA_SCALE_TO_ZERO"] == "true")
    }

    @Test func everyOptionRendersEveryObject() throws {
        let objects = try render(["-f", allOptions])
        #expect(Set(objects.keys) == ["ConfigMap", "Service", "Deployment", "ServiceMonitor", "PrometheusRule", "ScaledObject", "HorizontalPodAutoscaler"])
        let deployment = try #require(objects["Deployment"]?.first)
        let variables = env(deployment)
        #expect(variables["REPLICA_RECOMMENDER_SCALE_TO_ZERO_ALLOWED"] == "false")
        #expect(variables["REPLICA_RECOMMENDER_PROMETHEUS_BEARER_TOKEN_FILE"] == "/etc/replica-recommender/prometheus-token/token")
        #expect(variables["REPLICA_RECOMMENDER_PROMETHEUS_CA_FILE"] == "/etc/replica-recommender/prometheus-ca/ca.crt")
        #expect(variables["REPLICA_RECOMMENDER_PROMETHEUS_HEADER"] == "X-Scope-OrgID: tenant-a\n")
        #expect(variables["REPLICA_RECOMMENDER_WAKE_TOKEN_FILE"] == "/etc/replica-recommender/wake-token/token")
        let volumes = (dig(deployment, "spec", "template", "spec", "volumes") as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(volumes == ["models", "prometheus-token", "prometheus-ca", "wake-token"])

        let trigger = try #require(dig(objects["ScaledObject"]?.first, "spec", "triggers", "0", "metadata") as? [String: Any])
        #expect(trigger["query"] as? String == #"max(inferno_desired_replicas{variantautoscaling_name="llama-8b",variantautoscaling_namespace="llm-inference"})"#)
        #expect(trigger["ignoreNullValues"] as? String == "false")
        #expect(trigger["threshold"] as? String == "1")
        #expect(trigger["activationThreshold"] as? String == "0.5")
        #expect(trigger["customHeaders"] as? String == "X-Scope-OrgID=tenant-a")
        #expect(dig(objects["ScaledObject"]?.first, "spec", "fallback", "replicas") as? Int == 1)
        #expect(dig(objects["ScaledObject"]?.first, "spec", "minReplicaCount") as? Int == 0)

        let hpa = try #require(objects["HorizontalPodAutoscaler"]?.first)
        #expect(dig(hpa, "spec", "metrics", "0", "external", "metric", "name") as? String == "inferno_desired_replicas")
        #expect(dig(hpa, "spec", "metrics", "0", "external", "target", "averageValue") as? String == "1")
        #expect(dig(hpa, "spec", "behavior", "scaleUp", "stabilizationWindowSeconds") as? Int == 0)
        #expect(dig(objects["ServiceMonitor"]?.first, "spec", "endpoints", "0", "honorLabels") as? Bool == true)
        let rules = dig(objects["PrometheusRule"]?.first, "spec", "groups", "0", "rules") as? [[String: Any]] ?? []
        #expect(rules.count == 7)
    }

    @Test func renderedModelConfigMapPassesCheckConfig() throws {
        let (status, output) = try run("helm", ["template", "rr", chart, "-f", allOptions, "--show-only", "templates/configmap.yaml"])
        #expect(status == 0)
        let entries = try ConfigSource.parseDataMap(text: output, file: "rendered")
        #expect(entries.map(\.key) == ["default", "global", "llama-70b", "llama-8b", "llama-production"])
        let set = ModelConfigSet.build(entries: entries, previous: nil)
        #expect(set.problems.isEmpty, "\(set.problems)")
        #expect(set.overrides.count == 3)
    }

    @Test(arguments: [
        ("modelConfig.default.retention_period=5minutes", "retention_period"),
        ("modelConfig.overrides.x.retention_periods=5m", "retention_periods"),
        ("modelConfig.overrides.y.retention_period=5m", "model_id"),
        ("logFormat=text", "logFormat"),
    ])
    func schemaRejectsBadValues(setting: String, field: String) throws {
        let (status, output) = try run("helm", ["template", "rr", chart, "--set", setting])
        #expect(status != 0)
        #expect(output.contains(field), "helm said: \(output)")
    }
}

struct AlertRuleTests {
    @Test func alertRulesAreValid() throws {
        let (status, output) = try run("promtool", ["check", "rules", "alerts.rules.yaml"], directory: root + "/config/prometheus")
        #expect(status == 0, "\(output)")
        #expect(output.contains("SUCCESS: 7 rules found"))
    }

    @Test func everyAlertFiresAndStaysQuietAsTested() throws {
        let (status, output) = try run("promtool", ["test", "rules", "alerts.test.yaml"], directory: root + "/config/prometheus")
        #expect(status == 0, "\(output)")
        let tests = try String(contentsOfFile: root + "/config/prometheus/alerts.test.yaml", encoding: .utf8)
        let rules = try String(contentsOfFile: root + "/config/prometheus/alerts.rules.yaml", encoding: .utf8)
        // Every alert of the rules file has a test.
        for line in rules.split(separator: "\n") where line.contains("- alert: ") {
            let name = line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)
            #expect(tests.contains("alertname: \(name)"), "no test for \(name)")
        }
    }
}

struct ExampleTests {
    @Test(arguments: ["keda-scaledobject.yaml", "keda-scaledobject-seed.yaml", "hpa.yaml", "prometheus-adapter-values.yaml"])
    func integrationExamplesAreValidYAML(name: String) throws {
        let text = try String(contentsOfFile: root + "/config/integrations/" + name, encoding: .utf8)
        #expect(try Yams.load(yaml: text) is [String: Any])
    }

    @Test func keDAExampleWrapsItsQueryInMaxAndTreatsEmptyAsAnError() throws {
        let object = try Yams.load(yaml: String(contentsOfFile: root + "/config/integrations/keda-scaledobject.yaml", encoding: .utf8))
        let metadata = try #require(dig(object, "spec", "triggers", "0", "metadata") as? [String: Any])
        #expect((metadata["query"] as? String)?.hasPrefix("max(") == true)
        #expect(metadata["ignoreNullValues"] as? String == "false")
    }
}
