import Foundation
import Testing
import Yams

/// The chart's values for the fast activation paths: direct gateway polling and KEDA's external
/// scaler.
struct ActivationPathTests {
    @Test func neitherPathIsOnByDefault() throws {
        let objects = try render(values: kedaTarget())
        let deployment = try #require(objects["Deployment"].first)
        #expect(env(deployment).keys.filter { $0.contains("GATEWAY_METRICS") || $0.contains("GATEWAY_POLL") || $0.contains("EXTERNAL_SCALER") }.isEmpty)
        let ports = dig(objects["Service"].first, "spec", "ports") as? [[String: Any]] ?? []
        #expect(ports.map { $0["name"] as? String } == ["http"])
        #expect(trigger(objects["ScaledObject"].first, "recommendation")?["query"] != nil)
    }

    @Test func gatewayPollingValuesReachTheServiceOneTargetALine() throws {
        let objects = try render(values: """
            gatewayPolling:
              urls: [http://epp-a.gw.svc:9090/metrics, http://epp-b.gw.svc:9090/metrics]
              dns: [epp-metrics.gw.svc.cluster.local:9090]
              interval: 250ms
              bearerToken: {secretName: epp-token, key: t}
            """)
        let deployment = try #require(objects["Deployment"].first)
        let variables = env(deployment)
        #expect(variables["REPLICA_RECOMMENDER_GATEWAY_METRICS_URL"] == "http://epp-a.gw.svc:9090/metrics\nhttp://epp-b.gw.svc:9090/metrics")
        #expect(variables["REPLICA_RECOMMENDER_GATEWAY_METRICS_DNS"] == "epp-metrics.gw.svc.cluster.local:9090")
        #expect(variables["REPLICA_RECOMMENDER_GATEWAY_POLL_INTERVAL"] == "250ms")
        #expect(variables["REPLICA_RECOMMENDER_GATEWAY_POLL_TIMEOUT"] == "2s")
        #expect(variables["REPLICA_RECOMMENDER_GATEWAY_METRICS_BEARER_TOKEN_FILE"] == "/etc/replica-recommender/gateway-token/t")
        let pod = dig(deployment, "spec", "template", "spec")
        let volumes = dig(pod, "volumes") as? [[String: Any]] ?? []
        #expect(volumes.contains { $0["name"] as? String == "gateway-token" && dig($0, "secret", "secretName") as? String == "epp-token" })
        let mounts = dig(pod, "containers", "0", "volumeMounts") as? [[String: Any]] ?? []
        #expect(mounts.contains { $0["mountPath"] as? String == "/etc/replica-recommender/gateway-token" })
    }

    @Test func gatewayPollingValuesAreValidatedBeforeTheServiceSeesThem() throws {
        let url = try renderFailure(values: "gatewayPolling: {urls: [epp.gw.svc:9090/metrics]}")
        #expect(url.contains("/gatewayPolling/urls/0") && url.contains("epp.gw.svc:9090/metrics"), "\(url)")
        let dns = try renderFailure(values: "gatewayPolling: {dns: [epp-metrics.gw.svc]}")
        #expect(dns.contains("/gatewayPolling/dns/0") && dns.contains("epp-metrics.gw.svc"), "\(dns)")
    }

    @Test func theExternalScalerGetsAContainerPortAServicePortAndTheNetworkPolicy() throws {
        let objects = try render(values: """
            externalScaler: {enabled: true, port: 9443}
            networkPolicy: {enabled: true}
            """)
        let deployment = try #require(objects["Deployment"].first)
        #expect(env(deployment)["REPLICA_RECOMMENDER_EXTERNAL_SCALER_PORT"] == "9443")
        let containerPorts = dig(deployment, "spec", "template", "spec", "containers", "0", "ports") as? [[String: Any]] ?? []
        #expect(containerPorts.contains { $0["name"] as? String == "grpc" && $0["containerPort"] as? Int == 9443 })
        let ports = dig(objects["Service"].first, "spec", "ports") as? [[String: Any]] ?? []
        #expect(ports.contains { $0["name"] as? String == "grpc" && $0["port"] as? Int == 9443 && $0["targetPort"] as? String == "grpc" })
        let policyPorts = dig(objects["NetworkPolicy"].first, "spec", "ingress", "0", "ports") as? [[String: Any]] ?? []
        #expect(policyPorts.compactMap { $0["port"] as? String } == ["http", "grpc"])
    }

    @Test func externalPushTriggerNamesTheModelAndTheRecommendersService() throws {
        let objects = try render(
            ["--namespace", "monitoring"],
            values: kedaTarget(
                "{name: llama-8b, namespace: llm-inference, model: meta/llama-3.1-8b}",
                "externalScaler: {enabled: true}"
            ).replacingOccurrences(of: "keda: {enabled: true}", with: "keda: {enabled: true, recommendationTrigger: external-push}"))
        let scaledObject = try #require(objects["ScaledObject"].first)
        let triggers = dig(scaledObject, "spec", "triggers") as? [[String: Any]] ?? []
        #expect(triggers.map { $0["type"] as? String } == ["external-push", "prometheus"])
        let push = try #require(trigger(scaledObject, "recommendation"))
        #expect(push["scalerAddress"] as? String == "rr-replica-recommender.monitoring.svc:9090")
        #expect(push["model"] as? String == "meta/llama-3.1-8b")
        #expect(push["namespace"] as? String == "llm-inference")
        #expect(dig(scaledObject, "spec", "fallback") == nil)
        // The demand trigger stays: it wakes a model at zero while the recommender is unreachable.
        #expect(trigger(scaledObject, "gateway-demand")?["activationThreshold"] as? String == "0")
    }

    @Test func externalPushWithoutTheExternalScalerOrWithoutAModelIdIsRefused() throws {
        let push = kedaTarget().replacingOccurrences(of: "keda: {enabled: true}", with: "keda: {enabled: true, recommendationTrigger: external-push}")
        let off = try renderFailure(values: push)
        #expect(off.contains("external-push needs externalScaler.enabled: true"), "\(off)")
        let variantOnly = try renderFailure(values: kedaTarget("{name: a, namespace: ns, variantName: a}", "externalScaler: {enabled: true}")
            .replacingOccurrences(of: "keda: {enabled: true}", with: "keda: {enabled: true, recommendationTrigger: external-push}"))
        #expect(variantOnly.contains("ns/a needs `model`"), "\(variantOnly)")
    }

    @Test func theExternalPushExampleIsTheChartsScaledObject() throws {
        let example = try Yams.load(yaml: String(contentsOfFile: root + "/config/integrations/keda-scaledobject-external-push.yaml", encoding: .utf8))
        let rendered = try render(
            ["--namespace", "monitoring"],
            values: kedaTarget("{name: llama-8b, namespace: llm-inference, model: meta/llama-3.1-8b, variantName: llama-8b}", "externalScaler: {enabled: true}")
                .replacingOccurrences(of: "keda: {enabled: true}", with: "keda: {enabled: true, recommendationTrigger: external-push}"),
            release: "replica-recommender")
        #expect(try canonical(dig(rendered["ScaledObject"].first, "spec")) == (try canonical(dig(example, "spec"))))
        #expect(dig(example, "metadata", "name") as? String == dig(rendered["ScaledObject"].first, "metadata", "name") as? String)
    }
}
