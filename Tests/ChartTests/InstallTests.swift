import Foundation
import Testing
import Yams
import ModelConfig

/// What a default install renders, and how it adapts to the cluster it is installed in.
struct InstallTests {
    @Test(arguments: [[String](), ["-f", allOptions]])
    func helmLintPasses(values: [String]) throws {
        let (status, output) = try run("helm", ["lint", chart, "--strict"] + values)
        #expect(status == 0, "helm lint: \(output)")
    }

    @Test func theChartPackagesAndThePackageRenders() throws {
        let directory = NSTemporaryDirectory() + "rr-package-\(UUID().uuidString)"
        let (status, output) = try run("helm", ["package", chart, "--destination", directory])
        #expect(status == 0, "helm package: \(output)")
        let metadata = try Yams.load(yaml: String(contentsOfFile: chart + "/Chart.yaml", encoding: .utf8)) as? [String: Any]
        let archive = directory + "/replica-recommender-\(metadata?["version"] as? String ?? "?").tgz"
        #expect(FileManager.default.fileExists(atPath: archive), "\(output)")
        let rendering = try render(source: archive)
        #expect(rendering["Deployment"].count == 1)
        #expect(try run("helm", ["lint", archive]).status == 0)
    }

    @Test func defaultImageIsWhatScriptsImageTagsWithPullPolicyIfNotPresent() throws {
        let deployment = try #require(try render()["Deployment"].first)
        let container = dig(deployment, "spec", "template", "spec", "containers", "0")
        #expect(dig(container, "image") as? String == "replica-recommender:\(try appVersion())")
        #expect(dig(container, "imagePullPolicy") as? String == "IfNotPresent")
    }

    @Test func imageRepositoryAndTagOverrideTheDefault() throws {
        let deployment = try #require(try render(["--set", "image.repository=registry.example.com/ml/replica-recommender", "--set", "image.tag=0.2.0"])["Deployment"].first)
        #expect(dig(deployment, "spec", "template", "spec", "containers", "0", "image") as? String == "registry.example.com/ml/replica-recommender:0.2.0")
    }

    @Test func defaultValuesRenderAHardenedDeploymentWithTheModelConfigMapMounted() throws {
        let objects = try render()
        #expect(objects.kinds == ["ConfigMap", "Service", "Deployment", "Secret"])
        let deployment = try #require(objects["Deployment"].first)
        let pod = dig(deployment, "spec", "template", "spec")
        #expect(env(deployment)["WVA_SCALE_TO_ZERO"] == "false")
        #expect(dig(pod, "securityContext", "runAsNonRoot") as? Bool == true)
        #expect(dig(pod, "automountServiceAccountToken") as? Bool == false)
        #expect(dig(pod, "containers", "0", "securityContext", "readOnlyRootFilesystem") as? Bool == true)
        #expect(dig(pod, "containers", "0", "readinessProbe", "httpGet", "path") as? String == "/readyz")
        #expect(dig(pod, "containers", "0", "livenessProbe", "httpGet", "path") as? String == "/healthz")
        #expect(dig(pod, "containers", "0", "resources", "requests", "memory") as? String == "64Mi")
        #expect(dig(pod, "volumes", "0", "configMap", "name") as? String == "rr-replica-recommender-models")
        #expect(dig(pod, "containers", "0", "volumeMounts", "0", "mountPath") as? String == "/etc/replica-recommender/models")
        #expect((dig(pod, "containers", "0", "args") as? [String])?.contains("--config=/etc/replica-recommender/models") == true)
        // One replica by default: no PodDisruptionBudget (it could only block drains), soft anti-affinity.
        #expect(dig(pod, "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution", "0", "podAffinityTerm", "topologyKey") as? String == "kubernetes.io/hostname")
        #expect(dig(pod, "priorityClassName") == nil)
    }

    @Test func scaleToZeroValueReachesTheServiceAsWVAScaleToZero() throws {
        let deployment = try #require(try render(["--set", "scaleToZero=true"])["Deployment"].first)
        #expect(env(deployment)["WVA_SCALE_TO_ZERO"] == "true")
    }

    // MARK: Scraping: a ServiceMonitor where the cluster has the API, scrape annotations otherwise.

    static let monitoringAPI = ["--api-versions", "monitoring.coreos.com/v1/ServiceMonitor", "--api-versions", "monitoring.coreos.com/v1/PrometheusRule"]

    @Test func withoutTheMonitoringAPIThePodsCarryScrapeAnnotations() throws {
        let objects = try render()
        #expect(objects["ServiceMonitor"].isEmpty)
        #expect(objects["PrometheusRule"].isEmpty)
        let annotations = dig(objects["Deployment"].first, "spec", "template", "metadata", "annotations") as? [String: Any]
        #expect(annotations?["prometheus.io/scrape"] as? String == "true")
        #expect(annotations?["prometheus.io/port"] as? String == "8080")
        #expect(annotations?["prometheus.io/path"] as? String == "/metrics")
    }

    @Test func withTheMonitoringAPIAServiceMonitorHonoringLabelsAndThePrometheusRuleAreRendered() throws {
        let objects = try render(Self.monitoringAPI)
        let monitor = try #require(objects["ServiceMonitor"].first)
        #expect(dig(monitor, "spec", "endpoints", "0", "honorLabels") as? Bool == true)
        #expect(dig(monitor, "spec", "endpoints", "0", "port") as? String == "http")
        #expect(objects["PrometheusRule"].count == 1)
        let annotations = dig(objects["Deployment"].first, "spec", "template", "metadata", "annotations") as? [String: Any]
        #expect(annotations?["prometheus.io/scrape"] == nil)
    }

    @Test func serviceMonitorAndAnnotationsAreOverridableBothWays() throws {
        let forcedOff = try render(Self.monitoringAPI + ["--set", "serviceMonitor.enabled=false", "--set", "prometheusRule.enabled=false"])
        #expect(forcedOff["ServiceMonitor"].isEmpty && forcedOff["PrometheusRule"].isEmpty)
        #expect(dig(forcedOff["Deployment"].first, "spec", "template", "metadata", "annotations", "prometheus.io/scrape") as? String == "true")

        let forcedOn = try render(["--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true"])
        #expect(forcedOn["ServiceMonitor"].count == 1 && forcedOn["PrometheusRule"].count == 1)
        #expect(dig(forcedOn["Deployment"].first, "spec", "template", "metadata", "annotations", "prometheus.io/scrape") == nil)

        let neither = try render(["--set", "scrapeAnnotations.enabled=false"])
        #expect(neither["ServiceMonitor"].isEmpty)
        #expect(dig(neither["Deployment"].first, "spec", "template", "metadata", "annotations", "prometheus.io/scrape") == nil)
    }

    @Test func notesGiveTheOneQueryThatShowsTheGaugeArrives() throws {
        let (status, output) = try run("helm", ["install", "rr", chart, "--dry-run=client"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("max by (variantautoscaling_namespace, variantautoscaling_name) (inferno_desired_replicas)"))
        #expect(output.contains("prometheus.io/scrape annotations"))
        #expect(output.contains("get secret rr-replica-recommender-wake-token"))
    }

    // MARK: The wake API's token.

    @Test func aGeneratedWakeTokenSecretIsMountedAndPassedByDefault() throws {
        let objects = try render()
        let secret = try #require(objects.object("Secret", "rr-replica-recommender-wake-token"))
        let encoded = try #require(dig(secret, "data", "token") as? String)
        let token = try #require(Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) })
        #expect(token.count == 48)
        #expect(token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        // A second rendering (no cluster to look the Secret up in) draws another token: random.
        let again = try render().object("Secret", "rr-replica-recommender-wake-token")
        #expect(dig(again, "data", "token") as? String != encoded)

        let deployment = try #require(objects["Deployment"].first)
        #expect(env(deployment)["REPLICA_RECOMMENDER_WAKE_TOKEN_FILE"] == "/etc/replica-recommender/wake-token/token")
        #expect(env(deployment)["REPLICA_RECOMMENDER_WAKE_KNOWN_MODELS_ONLY"] == "true")
        let volumes = dig(deployment, "spec", "template", "spec", "volumes") as? [[String: Any]] ?? []
        // Mounted as a directory (no subPath): kubelet's ..data swap reaches the service on rotation.
        #expect(volumes.contains { dig($0, "secret", "secretName") as? String == "rr-replica-recommender-wake-token" })
        let mounts = dig(deployment, "spec", "template", "spec", "containers", "0", "volumeMounts") as? [[String: Any]] ?? []
        #expect(mounts.contains { $0["mountPath"] as? String == "/etc/replica-recommender/wake-token" && $0["subPath"] == nil })
        // The template keeps an existing token across upgrades (lookup), instead of drawing a new one.
        let template = try String(contentsOfFile: chart + "/templates/wake-token-secret.yaml", encoding: .utf8)
        #expect(template.contains("lookup \"v1\" \"Secret\" .Release.Namespace $name"))
    }

    @Test func anExistingWakeTokenSecretReplacesTheGeneratedOne() throws {
        let objects = try render(["--set", "wake.tokenSecret.name=callers-token", "--set", "wake.tokenSecret.key=bearer"])
        #expect(objects["Secret"].isEmpty)
        let deployment = try #require(objects["Deployment"].first)
        #expect(env(deployment)["REPLICA_RECOMMENDER_WAKE_TOKEN_FILE"] == "/etc/replica-recommender/wake-token/bearer")
        let volumes = dig(deployment, "spec", "template", "spec", "volumes") as? [[String: Any]] ?? []
        #expect(volumes.contains { dig($0, "secret", "secretName") as? String == "callers-token" })
    }

    @Test func theWakeApiIsOpenOnlyWhenAskedFor() throws {
        let objects = try render(["--set", "wake.tokenSecret.create=false"])
        #expect(objects["Secret"].isEmpty)
        #expect(env(try #require(objects["Deployment"].first))["REPLICA_RECOMMENDER_WAKE_TOKEN_FILE"] == nil)
    }

    // MARK: Availability and isolation.

    @Test func twoReplicasGetADisruptionBudgetAndHardAntiAffinityWhenAsked() throws {
        let objects = try render(["--set", "replicaCount=2", "--set", "podAntiAffinity=hard", "--set", "priorityClassName=inference-control"])
        let budget = try #require(objects["PodDisruptionBudget"].first)
        #expect(dig(budget, "spec", "maxUnavailable") as? Int == 1)
        #expect(dig(budget, "spec", "selector", "matchLabels", "app.kubernetes.io/instance") as? String == "rr")
        let pod = dig(objects["Deployment"].first, "spec", "template", "spec")
        #expect(dig(pod, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "0", "topologyKey") as? String == "kubernetes.io/hostname")
        #expect(dig(pod, "priorityClassName") as? String == "inference-control")
        // Explicit affinity wins over the preset.
        let custom = try render(["--set", "affinity.nodeAffinity.x=y"])
        #expect(dig(custom["Deployment"].first, "spec", "template", "spec", "affinity", "podAntiAffinity") == nil)
    }

    @Test func theNetworkPolicyAdmitsTheServicePortFromTheListedPeersOnly() throws {
        let objects = try render(values: """
            networkPolicy:
              enabled: true
              from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
            """)
        let policy = try #require(objects["NetworkPolicy"].first)
        #expect(dig(policy, "spec", "policyTypes") as? [String] == ["Ingress"])
        #expect(dig(policy, "spec", "ingress", "0", "ports", "0", "port") as? String == "http")
        #expect(dig(policy, "spec", "ingress", "0", "from", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") as? String == "monitoring")
        #expect(try render()["NetworkPolicy"].isEmpty)
    }

    // MARK: Values are strings where Kubernetes expects strings.

    @Test func namesThatYAMLWouldReadAsBooleansOrNumbersStayStrings() throws {
        let objects = try render(values: """
            modelConfig:
              overrides:
                "on": {model_id: "yes"}
                "1e3": {model_id: org/1e3}
            autoscaling:
              keda: {enabled: true}
              targets:
                - {name: "on", namespace: "no", model: "org/1e3"}
                - {name: "1e3", namespace: "off", variantName: "1e3", autoscaler: hpa}
            """)
        let data = try #require(objects["ConfigMap"].first?["data"] as? [String: Any])
        #expect(data["on"] is String && data["1e3"] is String, "keys: \(data.keys)")
        let scaledObject = try #require(objects["ScaledObject"].first)
        #expect(dig(scaledObject, "metadata", "namespace") is String)
        #expect(dig(scaledObject, "spec", "scaleTargetRef", "name") as? String == "on")
        let hpa = try #require(objects["HorizontalPodAutoscaler"].first)
        #expect(dig(hpa, "metadata", "name") as? String == "1e3")
        #expect(dig(hpa, "metadata", "namespace") as? String == "off")
        #expect(dig(hpa, "spec", "metrics", "0", "external", "metric", "selector", "matchLabels", "variantautoscaling_name") as? String == "1e3")
    }

    // MARK: The model ConfigMap.

    @Test func renderedModelConfigMapPassesCheckConfig() throws {
        let (status, output) = try run("helm", ["template", "rr", chart, "-f", allOptions, "--show-only", "templates/configmap.yaml"])
        #expect(status == 0)
        let entries = try ConfigSource.parseDataMap(text: output, file: "rendered")
        #expect(entries.map(\.key) == ["default", "global", "llama-70b", "llama-8b", "llama-production"])
        let set = ModelConfigSet.build(entries: entries, previous: nil)
        #expect(set.problems.isEmpty, "\(set.problems)")
        #expect(set.overrides.count == 3)
    }

    @Test func twoOverridesForOneModelAndNamespaceAreRefused() throws {
        let output = try renderFailure(values: """
            modelConfig:
              overrides:
                a: {model_id: meta/llama-3.1-8b, namespace: prod}
                b: {model_id: meta/llama-3.1-8b, namespace: prod}
            """)
        #expect(output.contains("modelConfig.overrides.b"), "\(output)")
        #expect(output.contains("modelConfig.overrides.a"), "\(output)")
    }

    @Test(arguments: [
        ("modelConfig.default.retention_period=5minutes", "retention_period"),
        ("modelConfig.default.retention_period=0s", "retention_period"),
        ("interval=00m", "interval"),
        ("modelConfig.overrides.x.retention_periods=5m", "retention_periods"),
        ("modelConfig.overrides.y.retention_period=5m", "model_id"),
        ("modelConfig.overrides.a/b.model_id=m", "a/b"),
        ("modelConfig.overrides.global.model_id=m", "global"),
        ("logFormat=text", "logFormat"),
        ("serviceMonitor.enabled=sometimes", "serviceMonitor"),
        ("autoscaling.targets[0].name=x", "namespace"),
        ("autoscaling.targets[0].name=Upper_Case", "name"),
        ("autoscaling.keda.fallback.behavior=always", "behavior"),
        ("autoscaling.hpa.minReplicas=-1", "minReplicas"),
        ("podAntiAffinity=sometimes", "podAntiAffinity"),
        ("prometheusRule.alerts.stuckWaking.for=soon", "stuckWaking"),
        ("unknownKey=1", "unknownKey"),
    ])
    func schemaRejectsBadValues(setting: String, field: String) throws {
        let output = try renderFailure(["--set", setting])
        #expect(output.contains(field), "helm said: \(output)")
    }

    @Test func targetNamesLongerThanAScaledObjectNameAllowsAreRejected() throws {
        let name = String(repeating: "a", count: 57)   // "<name>-scaler" would exceed 63 characters
        let output = try renderFailure(values: kedaTarget("{name: \(name), namespace: ns, model: m}"))
        #expect(output.contains("maxLength") || output.contains("length"), "\(output)")
        _ = try render(values: kedaTarget("{name: \(String(repeating: "a", count: 56)), namespace: ns, model: m}"))
    }
}
