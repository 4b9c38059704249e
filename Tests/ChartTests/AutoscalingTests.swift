import Foundation
import Testing
import Yams
import ModelConfig

/// The KEDA and HPA objects the chart generates: one autoscaler per target, the series the
/// service exports, and consumer behaviour that holds under failure.
struct AutoscalingTests {
    // MARK: One autoscaler per workload.

    @Test func kedaAndHpaBothEnabledFailUnlessEveryTargetChooses() throws {
        let both = """
            autoscaling:
              keda: {enabled: true}
              hpa: {enabled: true}
              targets:
                - {name: llama-8b, namespace: llm-inference, model: meta/llama-3.1-8b}
            """
        let output = try renderFailure(values: both)
        #expect(output.contains("/autoscaling/targets/0") && output.contains("autoscaler"), "\(output)")
        // Past the schema (--skip-schema-validation), the template refuses it too, and says why.
        let template = try renderFailure(["--skip-schema-validation"], values: both)
        #expect(template.contains("autoscaling.targets[0] (llm-inference/llama-8b)") && template.contains("already managed by the hpa"), "\(template)")

        let chosen = try render(values: """
            autoscaling:
              keda: {enabled: true}
              hpa: {enabled: true}
              targets:
                - {name: a, namespace: ns, model: org/a, autoscaler: keda}
                - {name: b, namespace: ns, model: org/b, autoscaler: hpa}
                - {name: c, namespace: ns, model: org/c, autoscaler: none}
            """)
        #expect(chosen["ScaledObject"].map { dig($0, "spec", "scaleTargetRef", "name") as? String } == ["a"])
        #expect(chosen["HorizontalPodAutoscaler"].map { dig($0, "spec", "scaleTargetRef", "name") as? String } == ["b"])
    }

    @Test func twoTargetsForOneWorkloadAreRefused() throws {
        let output = try renderFailure(values: """
            autoscaling:
              keda: {enabled: true}
              targets:
                - {name: a, namespace: ns, model: org/a}
                - {name: a, namespace: ns, model: org/a2, autoscaler: hpa}
            """)
        #expect(output.contains("autoscaling.targets[1] (ns/a)") && output.contains("one autoscaler per workload"), "\(output)")
    }

    // MARK: The series a generated object selects is the series the service exports.

    static let modelIDs = [
        "meta/llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "mistralai/Mixtral-8x7B-v0.1",
        "granite", "/", "org/", "a//b", "--x--", "A_B.C", "on", "1e3", "org/.hidden", "x/~!@", "deepseek-ai/DeepSeek-R1:671b",
    ]

    @Test func variantNamesAreDerivedExactlyAsTheServiceDerivesThem() throws {
        let targets = Self.modelIDs.enumerated().map { index, id in
            "    - {name: t\(index), namespace: ns, model: \(try! Yams.dump(object: id).trimmingCharacters(in: .whitespacesAndNewlines)), autoscaler: hpa}"
        }.joined(separator: "\n")
        let objects = try render(values: "autoscaling:\n  targets:\n" + targets)
        for (index, id) in Self.modelIDs.enumerated() {
            let hpa = try #require(objects.object("HorizontalPodAutoscaler", "t\(index)"))
            let selected = dig(hpa, "spec", "metrics", "0", "external", "metric", "selector", "matchLabels", "variantautoscaling_name") as? String
            #expect(selected == ConfigResolver.derivedVariantName(id), "model \(id)")
        }
    }

    @Test func modelIdsOutsidePrintableAsciiNeedAnExplicitVariantName() throws {
        let output = try renderFailure(values: kedaTarget("{name: a, namespace: ns, model: \"org/modèle\"}"))
        #expect(output.contains("variantName"), "\(output)")
        let explicit = try render(values: kedaTarget("{name: a, namespace: ns, model: \"org/modèle\", variantName: modele}"))
        #expect(trigger(explicit["ScaledObject"].first, "recommendation")?["query"] as? String
            == #"max(inferno_desired_replicas{variantautoscaling_name="modele",variantautoscaling_namespace="ns"})"#)
    }

    @Test func variantNamesFollowTheOverridesAsTheServiceResolvesThem() throws {
        let values = """
            modelConfig:
              default: {enable_scale_to_zero: true}
              overrides:
                scoped: {model_id: org/a, namespace: prod, variant_name: a-prod}
                unscoped: {model_id: org/a, variant_name: a-any}
                plain: {model_id: org/b, retention_period: 5m}
            autoscaling:
              targets:
                - {name: a1, namespace: prod, model: org/a, autoscaler: hpa}
                - {name: a2, namespace: dev, model: org/a, autoscaler: hpa}
                - {name: b1, namespace: prod, model: org/b, autoscaler: hpa}
                - {name: c1, namespace: prod, model: org/c.v2, autoscaler: hpa}
            """
        let objects = try render(values: values)
        let file = try valuesFile(values)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (status, configMap) = try run("helm", ["template", "rr", chart, "-f", file, "--show-only", "templates/configmap.yaml"])
        try #require(status == 0)
        let resolver = ConfigResolver(
            config: ModelConfigSet.build(entries: try ConfigSource.parseDataMap(text: configMap, file: "rendered"), previous: nil),
            environmentScaleToZero: nil)
        for (name, namespace, model, expected) in [("a1", "prod", "org/a", "a-prod"), ("a2", "dev", "org/a", "a-any"), ("b1", "prod", "org/b", "b"), ("c1", "prod", "org/c.v2", "c-v2")] {
            let hpa = try #require(objects.object("HorizontalPodAutoscaler", name))
            let selected = dig(hpa, "spec", "metrics", "0", "external", "metric", "selector", "matchLabels", "variantautoscaling_name") as? String
            #expect(selected == resolver.resolve(ModelKey(namespace: namespace, modelID: model)).variantName, "\(name)")
            #expect(selected == expected, "\(name)")
        }
    }

    @Test func aTargetNamesItsModelOrItsVariant() throws {
        let output = try renderFailure(["--skip-schema-validation"], values: kedaTarget("{name: a, namespace: ns}"))
        #expect(output.contains("autoscaling.targets[0] (ns/a)") && output.contains("variantName"), "\(output)")
    }

    // MARK: The generated ScaledObject.

    @Test func scaledObjectCarriesTheRecommendationAndAnActivationOnlyDemandTrigger() throws {
        let objects = try render(values: kedaTarget("{name: llama-8b, namespace: llm-inference, model: meta/llama-3.1-8b, aliases: [llama-8b-chat], maxReplicas: 6}"))
        let scaledObject = try #require(objects.object("ScaledObject", "llama-8b-scaler"))
        #expect(dig(scaledObject, "metadata", "namespace") as? String == "llm-inference")
        #expect(dig(scaledObject, "spec", "minReplicaCount") as? Int == 0)
        #expect(dig(scaledObject, "spec", "maxReplicaCount") as? Int == 6)
        #expect(dig(scaledObject, "spec", "fallback") == nil)

        let recommendation = try #require(trigger(scaledObject, "recommendation"))
        #expect(recommendation["query"] as? String == #"max(inferno_desired_replicas{variantautoscaling_name="llama-3-1-8b",variantautoscaling_namespace="llm-inference"})"#)
        #expect(recommendation["threshold"] as? String == "1")
        #expect(recommendation["activationThreshold"] as? String == "0.5")
        #expect(recommendation["ignoreNullValues"] as? String == "false")

        let demand = try #require(trigger(scaledObject, "gateway-demand"))
        let query = try #require(demand["query"] as? String)
        #expect(query.contains(#"target_model_name=~"meta/llama-3\\.1-8b|llama-8b-chat""#), "\(query)")
        #expect(query.contains("llm_d_epp_flow_control_queue_size|inference_extension_flow_control_queue_size"))
        #expect(query.contains("increase({__name__=~\"inference_objective_request_total|inference_objective_request_error_total|inference_model_request_total|inference_model_request_error_total\""))
        #expect(query.hasSuffix("[2m])) or vector(0))"))
        #expect(demand["activationThreshold"] as? String == "0")
        #expect(demand["ignoreNullValues"] as? String == "false")
        // Activation only: the largest demand worth counting still asks for one replica at most.
        let threshold = try #require(Double(demand["threshold"] as? String ?? ""))
        #expect(HPAModel.averageValue(current: 1, series: [1_000_000], target: threshold) <= 1)
    }

    @Test func theDemandTriggerHonoursTheGatewaySelectorAndAnOptionalNamespaceLabel() throws {
        let objects = try render(
            ["--set", "prometheus.gatewaySelector=job=\"epp\"", "--set", "autoscaling.keda.demand.namespaceLabel=namespace"], values: kedaTarget())
        let query = try #require(trigger(objects["ScaledObject"].first, "gateway-demand")?["query"] as? String)
        #expect(query.contains(#"target_model_name=~"meta/llama-3\\.1-8b",namespace="llm-inference",job="epp""#), "\(query)")
        let off = try render(["--set", "autoscaling.keda.demand.enabled=false"], values: kedaTarget())
        #expect(trigger(off["ScaledObject"].first, "gateway-demand") == nil)
    }

    // MARK: KEDA's behaviour under failure, applied to the rendered ScaledObject.

    func kedaObject(_ arguments: [String] = []) throws -> (recommendation: KEDAModel.Trigger, demand: KEDAModel.Trigger, fallback: KEDAModel.Fallback?) {
        let scaledObject = try #require(try render(arguments, values: kedaTarget())["ScaledObject"].first)
        return (
            KEDAModel.Trigger(try #require(trigger(scaledObject, "recommendation"))),
            KEDAModel.Trigger(try #require(trigger(scaledObject, "gateway-demand"))),
            KEDAModel.Fallback(dig(scaledObject, "spec", "fallback")))
    }

    /// Where a model ends after a poll: KEDA's action, then (when KEDA hands over) the HPA's.
    func replicasAfter(_ action: KEDAModel.Action, current: Int, thresholds: [Double]) -> Int {
        switch action {
        case .activate(let to): return to
        case .deactivate: return 0
        case .hold: return current
        case .hpa(let metrics):
            let proposals = zip(metrics, thresholds).map { metric, threshold in
                metric.map { HPAModel.averageValue(current: current, series: [$0], target: threshold, tolerance: (0, 0)) }
            }
            return HPAModel.combine(proposals, specReplicas: current) ?? current
        }
    }

    @Test(arguments: [0, 1, 5, 40])
    func aRecommenderOrPrometheusOutageLeavesEveryModelWhereItIs(current: Int) throws {
        let object = try kedaObject()
        // The recommender is down: its series are gone, the trigger's query returns nothing.
        let missing = object.recommendation.read([])
        #expect(missing == .error)
        for failures in [1, 10, 1000] {
            let action = KEDAModel.poll(
                [(object.recommendation, missing), (object.demand, object.demand.read([0]))],
                fallback: object.fallback, failures: failures, currentReplicas: current)
            #expect(replicasAfter(action, current: current, thresholds: [object.recommendation.threshold, object.demand.threshold]) == current,
                    "after \(failures) failures: \(action)")
            // Prometheus down too: every trigger fails.
            let blind = KEDAModel.poll([(object.recommendation, object.recommendation.read(nil)), (object.demand, object.demand.read(nil))],
                                       fallback: object.fallback, failures: failures, currentReplicas: current)
            #expect(blind == .hold)
        }
    }

    @Test func gatewayDemandWakesAModelAtZeroWhileTheRecommendationTriggerFails() throws {
        let object = try kedaObject()
        let action = KEDAModel.poll(
            [(object.recommendation, object.recommendation.read([])), (object.demand, object.demand.read([3]))],
            fallback: object.fallback, failures: 100, currentReplicas: 0)
        #expect(action == .activate(to: 1))
        // No demand: it stays at zero.
        let quiet = KEDAModel.poll(
            [(object.recommendation, object.recommendation.read([])), (object.demand, object.demand.read([0]))],
            fallback: object.fallback, failures: 100, currentReplicas: 0)
        #expect(quiet == .hold)
    }

    @Test func theDemandTriggerNeverSizesAModelAboveTheRecommendation() throws {
        let object = try kedaObject()
        for recommendation in 1...12 {
            for current in 1...12 {
                for demand in [0.0, 1, 37, 5_000, 2_000_000] {
                    let action = KEDAModel.poll(
                        [(object.recommendation, object.recommendation.read([Double(recommendation)])), (object.demand, object.demand.read([demand]))],
                        fallback: object.fallback, failures: 0, currentReplicas: current)
                    let after = replicasAfter(action, current: current, thresholds: [object.recommendation.threshold, object.demand.threshold])
                    #expect(after == recommendation, "recommendation \(recommendation), current \(current), demand \(demand): \(action)")
                }
            }
        }
    }

    @Test func aRecommendationOfZeroDeactivatesOnlyWithoutDemand() throws {
        let object = try kedaObject()
        let idle = KEDAModel.poll(
            [(object.recommendation, object.recommendation.read([0])), (object.demand, object.demand.read([0]))],
            fallback: object.fallback, failures: 0, currentReplicas: 1)
        #expect(idle == .deactivate)
        let busy = KEDAModel.poll(
            [(object.recommendation, object.recommendation.read([0])), (object.demand, object.demand.read([2]))],
            fallback: object.fallback, failures: 0, currentReplicas: 1)
        #expect(busy != .deactivate)
    }

    @Test func theSeedGuidesScaledObjectReadsAnOutageAsZero() throws {
        // Why the chart sets ignoreNullValues "false": KEDA's default reads an empty result as 0.
        let seed = try Yams.load(yaml: String(contentsOfFile: root + "/config/integrations/keda-scaledobject-seed.yaml", encoding: .utf8))
        let seedTrigger = KEDAModel.Trigger(try #require(dig(seed, "spec", "triggers", "0", "metadata") as? [String: Any]))
        let action = KEDAModel.poll([(seedTrigger, seedTrigger.read([]))], fallback: nil, failures: 5, currentReplicas: 3)
        #expect(action == .deactivate)
    }

    @Test func aStaticFallbackCutsBusyModelsAndWakesEverySleepingOne() throws {
        // What `fallback: {replicas: 1}` did (the chart's former default): the reason it is off.
        let object = try kedaObject(["--set", "autoscaling.keda.fallback.enabled=true", "--set", "autoscaling.keda.fallback.behavior=static"])
        let fallback = try #require(object.fallback)
        let readings = [(object.recommendation, object.recommendation.read([])), (object.demand, object.demand.read([0]))]
        let thresholds = [object.recommendation.threshold, object.demand.threshold]
        let busy = KEDAModel.poll(readings, fallback: fallback, failures: fallback.failureThreshold + 1, currentReplicas: 8)
        #expect(replicasAfter(busy, current: 8, thresholds: thresholds) == 1)
        let asleep = KEDAModel.poll(readings, fallback: fallback, failures: fallback.failureThreshold + 1, currentReplicas: 0)
        #expect(asleep == .activate(to: 1))
    }

    @Test func currentReplicasIfHigherKeepsBusyModelsButStillWakesSleepingOnes() throws {
        let object = try kedaObject(["--set", "autoscaling.keda.fallback.enabled=true"])
        let fallback = try #require(object.fallback)
        #expect(fallback.behavior == "currentReplicasIfHigher")
        let readings = [(object.recommendation, object.recommendation.read([])), (object.demand, object.demand.read([0]))]
        let thresholds = [object.recommendation.threshold, object.demand.threshold]
        let busy = KEDAModel.poll(readings, fallback: fallback, failures: fallback.failureThreshold + 1, currentReplicas: 8)
        #expect(replicasAfter(busy, current: 8, thresholds: thresholds) == 8)
        // The trade-off docs/integration.md states: KEDA >= 2.19 counts a fallback as activity.
        let asleep = KEDAModel.poll(readings, fallback: fallback, failures: fallback.failureThreshold + 1, currentReplicas: 0)
        #expect(asleep == .activate(to: 1))
    }

    // MARK: HPA behaviour: tolerance, windows, minReplicas.

    @Test(arguments: ["1.33.0", "1.35.2", "1.37.0"])
    func fromKubernetes133TheHpasFollowEveryRecommendationExactly(kubeVersion: String) throws {
        let objects = try render(["--kube-version", kubeVersion], values: hpaTarget())
        let behavior = dig(objects["HorizontalPodAutoscaler"].first, "spec", "behavior")
        let tolerance = HPAModel.tolerance(behavior)
        #expect(tolerance == (0, 0))
        for current in 1...30 {
            for recommendation in 1...30 {
                #expect(HPAModel.averageValue(current: current, series: [Double(recommendation)], target: 1, tolerance: tolerance) == recommendation)
            }
        }
        let keda = try render(["--kube-version", kubeVersion], values: kedaTarget())
        #expect(HPAModel.tolerance(dig(keda["ScaledObject"].first, "spec", "advanced", "horizontalPodAutoscalerConfig", "behavior")) == (0, 0))
    }

    @Test func beforeKubernetes133NoToleranceIsRenderedAndTheDefaultSwallowsSmallChanges() throws {
        let objects = try render(["--kube-version", "1.32.4"], values: hpaTarget())
        let behavior = dig(objects["HorizontalPodAutoscaler"].first, "spec", "behavior")
        #expect(dig(behavior, "scaleUp", "tolerance") == nil && dig(behavior, "scaleDown", "tolerance") == nil)
        let tolerance = HPAModel.tolerance(behavior)
        // The documented limitation: +-1 at 11 replicas and +-2 at 20 are not followed.
        #expect(HPAModel.averageValue(current: 11, series: [12], target: 1, tolerance: tolerance) == 11)
        #expect(HPAModel.averageValue(current: 11, series: [10], target: 1, tolerance: tolerance) == 11)
        #expect(HPAModel.averageValue(current: 20, series: [22], target: 1, tolerance: tolerance) == 20)
        #expect(HPAModel.averageValue(current: 20, series: [18], target: 1, tolerance: tolerance) == 20)
        #expect(HPAModel.averageValue(current: 3, series: [4], target: 1, tolerance: tolerance) == 4)
    }

    @Test func anExplicitToleranceIsRenderedAsIs() throws {
        let objects = try render(["--set-string", "autoscaling.tolerance=0.05"], values: hpaTarget())
        #expect(dig(objects["HorizontalPodAutoscaler"].first, "spec", "behavior", "scaleUp", "tolerance") as? String == "0.05")
        let none = try render(["--set", "autoscaling.tolerance="], values: hpaTarget())
        #expect(dig(none["HorizontalPodAutoscaler"].first, "spec", "behavior", "scaleUp", "tolerance") == nil)
    }

    @Test(arguments: [60, 90, 0])
    func consumersScaleDownWithTheRecommendersOwnWindow(seconds: Int) throws {
        let values = """
            scaleDownStabilizationSeconds: \(seconds)
            autoscaling:
              targets:
                - {name: a, namespace: ns, model: org/a, autoscaler: keda}
                - {name: b, namespace: ns, model: org/b, autoscaler: hpa}
            """
        let objects = try render(values: values)
        #expect(env(try #require(objects["Deployment"].first))["REPLICA_RECOMMENDER_SCALE_DOWN_STABILIZATION"] == "\(seconds)s")
        #expect(dig(objects["HorizontalPodAutoscaler"].first, "spec", "behavior", "scaleDown", "stabilizationWindowSeconds") as? Int == seconds)
        #expect(dig(objects["ScaledObject"].first, "spec", "advanced", "horizontalPodAutoscalerConfig", "behavior", "scaleDown", "stabilizationWindowSeconds") as? Int == seconds)
        #expect(dig(objects["HorizontalPodAutoscaler"].first, "spec", "behavior", "scaleUp", "stabilizationWindowSeconds") as? Int == 0)
    }

    @Test(arguments: [("1.30.0", 1), ("1.36.5", 1), ("v1.36.0-eks-4c7a2b1", 1), ("1.37.0", 0), ("1.38.1", 0)])
    func hpaMinReplicasIsZeroOnlyWhereHPAScaleToZeroIsOnByDefault(kubeVersion: String, expected: Int) throws {
        let objects = try render(["--kube-version", kubeVersion], values: hpaTarget())
        #expect(dig(objects["HorizontalPodAutoscaler"].first, "spec", "minReplicas") as? Int == expected)
        let explicit = try render(["--kube-version", kubeVersion, "--set", "autoscaling.hpa.minReplicas=0"], values: hpaTarget())
        #expect(dig(explicit["HorizontalPodAutoscaler"].first, "spec", "minReplicas") as? Int == 0)
    }

    @Test func anHpaOnlyScalesDownWhenEveryMetricIsValid() {
        // horizontal.go: an invalid metric blocks a scale-down, not a scale-up.
        #expect(HPAModel.combine([nil, 1], specReplicas: 5) == nil)
        #expect(HPAModel.combine([nil, 7], specReplicas: 5) == 7)
        #expect(HPAModel.combine([nil, nil], specReplicas: 5) == nil)
        #expect(HPAModel.combine([3, 1], specReplicas: 5) == 3)
    }

    // MARK: Authenticated Prometheus.

    @Test func anAuthenticatedPrometheusGivesTheTriggersItsTokenAndCA() throws {
        let objects = try render(values: """
            prometheus:
              url: https://prometheus.monitoring.svc:9091
              bearerToken: {secretName: prometheus-token, key: token}
              ca: {configMapName: prometheus-ca, key: ca.crt}
              headers: {X-Scope-OrgID: tenant-a}
            autoscaling:
              keda: {enabled: true}
              targets:
                - {name: a, namespace: team-a, model: org/a}
                - {name: b, namespace: team-a, model: org/b}
                - {name: c, namespace: team-c, model: org/c}
            """)
        let authentications = objects["TriggerAuthentication"]
        #expect(Set(authentications.compactMap { dig($0, "metadata", "namespace") as? String }) == ["team-a", "team-c"])
        for authentication in authentications {
            #expect(dig(authentication, "metadata", "name") as? String == "rr-replica-recommender-prometheus")
            #expect(dig(authentication, "spec", "secretTargetRef", "0", "parameter") as? String == "bearerToken")
            #expect(dig(authentication, "spec", "secretTargetRef", "0", "name") as? String == "prometheus-token")
            #expect(dig(authentication, "spec", "secretTargetRef", "0", "key") as? String == "token")
            #expect(dig(authentication, "spec", "configMapTargetRef", "0", "parameter") as? String == "ca")
            #expect(dig(authentication, "spec", "configMapTargetRef", "0", "name") as? String == "prometheus-ca")
        }
        for scaledObject in objects["ScaledObject"] {
            for triggerSpec in dig(scaledObject, "spec", "triggers") as? [[String: Any]] ?? [] {
                #expect(dig(triggerSpec, "authenticationRef", "name") as? String == "rr-replica-recommender-prometheus")
                #expect(dig(triggerSpec, "metadata", "authModes") as? String == "bearer")
                #expect(dig(triggerSpec, "metadata", "serverAddress") as? String == "https://prometheus.monitoring.svc:9091")
                #expect(dig(triggerSpec, "metadata", "customHeaders") as? String == "X-Scope-OrgID=tenant-a")
            }
        }
    }

    @Test func anExistingClusterTriggerAuthenticationIsReferencedInstead() throws {
        let objects = try render(values: """
            prometheus:
              bearerToken: {secretName: prometheus-token}
            autoscaling:
              keda:
                enabled: true
                triggerAuthentication: {name: prometheus, kind: ClusterTriggerAuthentication}
              targets:
                - {name: a, namespace: team-a, model: org/a}
            """)
        #expect(objects["TriggerAuthentication"].isEmpty)
        let reference = dig(objects["ScaledObject"].first, "spec", "triggers", "0", "authenticationRef") as? [String: Any]
        #expect(reference?["name"] as? String == "prometheus" && reference?["kind"] as? String == "ClusterTriggerAuthentication")
        #expect(dig(objects["ScaledObject"].first, "spec", "triggers", "0", "metadata", "authModes") == nil)
    }

    @Test func aCaWithoutATokenIsRefusedForKedaBecauseKedaWouldIgnoreIt() throws {
        let output = try renderFailure(["--set", "prometheus.ca.configMapName=prometheus-ca"], values: kedaTarget())
        #expect(output.contains("applies a CA only together with an auth mode"), "\(output)")
    }

    // MARK: The shipped examples are what the chart generates.

    @Test func theKedaExampleIsTheChartsScaledObject() throws {
        let example = try Yams.load(yaml: String(contentsOfFile: root + "/config/integrations/keda-scaledobject.yaml", encoding: .utf8))
        let rendered = try render(values: kedaTarget("{name: llama-8b, namespace: llm-inference, model: meta/llama-3.1-8b, variantName: llama-8b}"))
        #expect(try canonical(dig(rendered["ScaledObject"].first, "spec")) == (try canonical(dig(example, "spec"))))
        #expect(dig(example, "metadata", "name") as? String == dig(rendered["ScaledObject"].first, "metadata", "name") as? String)
    }

    @Test func theHpaExampleIsTheChartsHpaOnKubernetes137() throws {
        let example = try Yams.load(yaml: String(contentsOfFile: root + "/config/integrations/hpa.yaml", encoding: .utf8))
        let rendered = try render(["--kube-version", "1.37.0"], values: hpaTarget("{name: llama-8b, namespace: llm-inference, variantName: llama-8b}"))
        #expect(try canonical(dig(rendered["HorizontalPodAutoscaler"].first, "spec")) == (try canonical(dig(example, "spec"))))
    }

    @Test(arguments: ["keda-scaledobject.yaml", "keda-scaledobject-seed.yaml", "hpa.yaml", "prometheus-adapter-values.yaml"])
    func integrationExamplesAreValidYAML(name: String) throws {
        let text = try String(contentsOfFile: root + "/config/integrations/" + name, encoding: .utf8)
        #expect(try Yams.load(yaml: text) is [String: Any])
    }

    @Test func theAdapterRuleMatchesTheHpaNamespaceOnVariantautoscalingNamespace() throws {
        let values = try Yams.load(yaml: String(contentsOfFile: root + "/config/integrations/prometheus-adapter-values.yaml", encoding: .utf8))
        let rule = try #require(dig(values, "rules", "external", "0") as? [String: Any])
        #expect(dig(rule, "resources", "overrides", "variantautoscaling_namespace", "resource") as? String == "namespace")
        #expect((rule["metricsQuery"] as? String)?.hasPrefix("max by (variantautoscaling_namespace, variantautoscaling_name)") == true)
    }
}
