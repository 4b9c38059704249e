import Foundation
import Testing
@testable import ModelConfig

struct SourceTests {
    private func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "rr-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func volumeDirectorySkipsDotfilesAndKubeletLinks() throws {
        // The layout the kubelet writes: ..<timestamp>/ holds the files, ..data links to it, and each
        // key is a link through ..data.
        let root = try temporaryDirectory()
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/..2026_11_23_00_00_00.1", withIntermediateDirectories: true)
        try "enable_scale_to_zero: true\n".write(toFile: root + "/..2026_11_23_00_00_00.1/default", atomically: true, encoding: .utf8)
        try "model_id: m\n".write(toFile: root + "/..2026_11_23_00_00_00.1/m", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: root + "/..data", withDestinationPath: "..2026_11_23_00_00_00.1")
        try fm.createSymbolicLink(atPath: root + "/default", withDestinationPath: "..data/default")
        try fm.createSymbolicLink(atPath: root + "/m", withDestinationPath: "..data/m")
        try "junk".write(toFile: root + "/.hidden", atomically: true, encoding: .utf8)

        let entries = try ConfigSource.read(path: root)
        #expect(entries.map(\.key) == ["default", "m"])
        #expect(entries[1].text == "model_id: m\n")
        #expect(entries[1].location == EntryLocation(file: root + "/m", firstLine: 1))
    }

    @Test func manifestEntriesReportFileLines() throws {
        let text = """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: x
            data:
              default: |
                enable_scale_to_zero: true
              m: |
                model_id: m
                retention_period: soon
            """
        let entries = try ConfigSource.parseDataMap(text: text, file: "cm.yaml")
        #expect(entries.map(\.key) == ["default", "m"])
        let set = ModelConfigSet.build(entries: entries, previous: nil)
        #expect(set.problems.first?.line == 10)
        #expect(set.problems.first?.file == "cm.yaml")
    }

    @Test func dataMapFileWithOrWithoutDataKeyIsAccepted() throws {
        let bare = try ConfigSource.parseDataMap(text: "default: |\n  enable_scale_to_zero: true\n", file: "f")
        let wrapped = try ConfigSource.parseDataMap(text: "data:\n  default: |\n    enable_scale_to_zero: true\n", file: "f")
        #expect(bare.map(\.text) == ["enable_scale_to_zero: true\n"])
        #expect(wrapped.map(\.text) == ["enable_scale_to_zero: true\n"])
    }

    @Test func manifestIsFoundAmongOtherDocuments() throws {
        let text = "kind: Service\napiVersion: v1\n---\napiVersion: v1\nkind: ConfigMap\ndata:\n  default: \"retention_period: 5m\"\n"
        let entries = try ConfigSource.parseDataMap(text: text, file: "f")
        #expect(entries.map(\.key) == ["default"])
        #expect(entries[0].location.firstLine == 7)
    }

    @Test func nestedValueInsteadOfDocumentIsAnUnreadableSource() {
        #expect(throws: ConfigSourceError.self) {
            try ConfigSource.parseDataMap(text: "data:\n  default:\n    enable_scale_to_zero: true\n", file: "f")
        }
    }

    @Test func missingPathIsAnUnreadableSource() {
        #expect(throws: ConfigSourceError.self) { try ConfigSource.read(path: "/nonexistent/rr") }
    }

    @Test(arguments: ["seed-1-overview.yaml", "seed-2-custom-defaults.yaml", "seed-3-partial-overrides.yaml", "seed-4-environment-specific.yaml", "extensions.yaml"])
    func shippedSeedExamplesAreClean(name: String) throws {
        let path = #filePath.replacingOccurrences(of: "Tests/ModelConfigTests/SourceTests.swift", with: "config/examples/" + name)
        let set = ModelConfigSet.build(entries: try ConfigSource.read(path: path), previous: nil)
        #expect(set.problems.isEmpty)
    }

    @Test func shippedBrokenExampleReportsEveryErrorClass() throws {
        let path = #filePath.replacingOccurrences(of: "Tests/ModelConfigTests/SourceTests.swift", with: "config/examples/broken.yaml")
        let set = ModelConfigSet.build(entries: try ConfigSource.read(path: path), previous: nil)
        let summary = set.problems.map { "\($0.key):\($0.field ?? "-"):\($0.line.map(String.init) ?? "?")" }
        #expect(summary == [
            "default:enable_scale_to_zero:9", "typo:retention_periods:13", "bad-duration:retention_period:16",
            "zero-duration:retention_period:19", "bad-yaml:-:22", "bounds:min_replicas:25",
            "dup-b:model_id:31", "no-model:model_id:35",
        ])
    }

    @Test func shippedWVAExampleIsReadWithOneCompatibilityWarningPerReading() throws {
        let path = #filePath.replacingOccurrences(of: "Tests/ModelConfigTests/SourceTests.swift", with: "config/examples/wva-compat.yaml")
        let set = ModelConfigSet.build(entries: try ConfigSource.read(path: path), previous: nil)
        #expect(set.errorCount == 0)
        let summary = set.problems.map { "\($0.key):\($0.field ?? "-"):\($0.line.map(String.init) ?? "?")" }
        #expect(summary == [
            "default:enable_scale_to_zero:12", "default:retention_period:13", "llama-8b:enable_scale_to_zero:19",
            "llama-8b:retention_period:20", "llama-70b:namespace:24", "llama-70b:enable_scale_to_zero:25",
            "granite:prewarm:32",
        ])
        #expect(set.problems.allSatisfy { $0.severity == .warning && $0.message.hasPrefix("WVA compatibility: ") })
        let resolver = ConfigResolver(config: set, environmentScaleToZero: nil)
        let llama8b = resolver.resolve(ModelKey(namespace: "any", modelID: "meta/llama-3.1-8b"))
        #expect(llama8b.enableScaleToZero && llama8b.retention.seconds == 900)
        #expect(!resolver.resolve(ModelKey(namespace: "other", modelID: "meta/llama-3.1-70b")).enableScaleToZero)
        #expect(resolver.resolve(ModelKey(namespace: "x", modelID: "ibm/granite-3b")).retention.seconds == 3723.5)
    }
}
