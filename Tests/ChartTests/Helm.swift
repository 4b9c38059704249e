import Foundation
import Testing
import Yams

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

/// A rendering of the chart: its objects by kind, and the text Kubernetes would receive.
struct Rendering {
    let text: String
    let objects: [String: [[String: Any]]]

    /// The objects of `kind`.
    subscript(kind: String) -> [[String: Any]] { objects[kind] ?? [] }

    /// The one object of `kind` named `name`.
    func object(_ kind: String, _ name: String) -> [String: Any]? {
        self[kind].first { dig($0, "metadata", "name") as? String == name }
    }

    var kinds: Set<String> { Set(objects.keys) }
}

/// A temporary values file.
func valuesFile(_ yaml: String) throws -> String {
    let path = NSTemporaryDirectory() + "rr-values-\(UUID().uuidString).yaml"
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// `helm template` of the chart with `arguments` (and `values`, a YAML document, when given).
func render(_ arguments: [String] = [], values: String? = nil, source: String = chart, release: String = "rr") throws -> Rendering {
    var extra = arguments
    let file = try values.map(valuesFile)
    defer { if let file { try? FileManager.default.removeItem(atPath: file) } }
    if let file { extra += ["-f", file] }
    let (status, output) = try run("helm", ["template", release, source] + extra)
    try #require(status == 0, "helm template \(extra.joined(separator: " ")): \(output)")
    var objects: [String: [[String: Any]]] = [:]
    for document in try Yams.load_all(yaml: output) {
        guard let object = document as? [String: Any], let kind = object["kind"] as? String else { continue }
        objects[kind, default: []].append(object)
    }
    return Rendering(text: output, objects: objects)
}

/// `helm template` expected to fail: its output (the error).
func renderFailure(_ arguments: [String] = [], values: String? = nil) throws -> String {
    var extra = arguments
    let file = try values.map(valuesFile)
    defer { if let file { try? FileManager.default.removeItem(atPath: file) } }
    if let file { extra += ["-f", file] }
    let (status, output) = try run("helm", ["template", "rr", chart] + extra)
    #expect(status != 0, "helm template \(extra.joined(separator: " ")) succeeded")
    return output
}

/// A value inside nested dictionaries and arrays, by keys and indexes.
func dig(_ object: Any?, _ path: String...) -> Any? {
    var current = object
    for key in path {
        if let index = Int(key), let array = current as? [Any] { current = index < array.count ? array[index] : nil }
        else { current = (current as? [String: Any])?[key] }
    }
    return current
}

/// A Deployment's environment variables (plain values).
func env(_ deployment: [String: Any]) -> [String: String] {
    let list = dig(deployment, "spec", "template", "spec", "containers", "0", "env") as? [[String: Any]] ?? []
    var values: [String: String] = [:]
    for item in list { if let name = item["name"] as? String { values[name] = item["value"] as? String } }
    return values
}

/// A trigger's metadata by trigger name.
func trigger(_ scaledObject: [String: Any]?, _ name: String) -> [String: Any]? {
    let triggers = dig(scaledObject, "spec", "triggers") as? [[String: Any]] ?? []
    return triggers.first { $0["name"] as? String == name }?["metadata"] as? [String: Any]
}

/// The chart's appVersion.
func appVersion() throws -> String {
    let metadata = try Yams.load(yaml: String(contentsOfFile: chart + "/Chart.yaml", encoding: .utf8)) as? [String: Any]
    return try #require(metadata?["appVersion"] as? String)
}

/// Values with one KEDA target (and anything else appended).
func kedaTarget(_ target: String = "{name: llama-8b, namespace: llm-inference, model: meta/llama-3.1-8b}", _ more: String = "") -> String {
    """
    autoscaling:
      keda: {enabled: true}
      targets:
        - \(target)
    \(more)
    """
}

/// Values with one HPA target (and anything else appended).
func hpaTarget(_ target: String = "{name: llama-8b, namespace: llm-inference, model: meta/llama-3.1-8b}", _ more: String = "") -> String {
    """
    autoscaling:
      hpa: {enabled: true}
      targets:
        - \(target)
    \(more)
    """
}

/// Parsed YAML as canonical JSON (sorted keys), for comparing whole objects.
func canonical(_ object: Any?) throws -> String {
    let value = try #require(object)
    return String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self)
}
