import Foundation
import Testing
import Yams

/// The chart's optional Grafana dashboard ConfigMap (`dashboard.enabled`).
struct DashboardChartTests {
    @Test func noDashboardConfigMapUnlessEnabled() throws {
        let (status, output) = try run("helm", ["template", "rr", chart, "--show-only", "templates/dashboard-configmap.yaml"])
        #expect(status != 0 && output.contains("could not find template"), "rendered without dashboard.enabled: \(output)")
    }

    @Test func enabledDashboardIsAConfigMapForTheGrafanaSidecarWithTheDashboardOfConfig() throws {
        let objects = try render(["--set", "dashboard.enabled=true", "--set", "dashboard.namespace=monitoring",
                                  "--set", "dashboard.annotations.grafana_folder=LLM serving"])
        let configMap = try #require(objects["ConfigMap"].first { (dig($0, "metadata", "name") as? String)?.hasSuffix("-dashboard") == true })
        #expect(dig(configMap, "metadata", "labels", "grafana_dashboard") as? String == "1")
        #expect(dig(configMap, "metadata", "namespace") as? String == "monitoring")
        #expect(dig(configMap, "metadata", "annotations", "grafana_folder") as? String == "LLM serving")
        let text = try #require(dig(configMap, "data", "replica-recommender.json") as? String)
        let shipped = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary
        let source = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/config/grafana/replica-recommender.json"))) as? NSDictionary
        #expect(shipped != nil && shipped == source)
    }
}
