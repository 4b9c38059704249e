import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Whether `scripts/image` has written its OCI layout.
func imageBuilt() -> Bool { FileManager.default.fileExists(atPath: ImageTests.layout + "/index.json") }

/// The container image `scripts/image` writes (`.build/image/oci`): unpacked with umoci, and its
/// entrypoint run inside the image's root filesystem with chroot as the image's non-root user, in
/// new mount and PID namespaces with /proc mounted, the way a container runtime starts it (the
/// statically linked Swift runtime reads its arguments from /proc/self/cmdline). Needs root.
@Suite(.serialized, .enabled(if: imageBuilt(), "scripts/image has not been run: no OCI layout at .build/image/oci (scripts/test builds it first when CI=true)"))
struct ImageTests {
    static let root = EndToEndTests.root
    static let layout = root + "/.build/image/oci"

    /// `appVersion` of the chart: the image's tag, as the chart renders `image: replica-recommender:<appVersion>`.
    static func appVersion() throws -> String {
        let chart = try String(contentsOfFile: root + "/charts/replica-recommender/Chart.yaml", encoding: .utf8)
        let line = try #require(chart.split(separator: "\n").first { $0.hasPrefix("appVersion:") })
        return line.dropFirst("appVersion:".count).trimmingCharacters(in: CharacterSet(charactersIn: " \"'"))
    }

    static func json(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    static func blob(_ digest: String) -> String { layout + "/blobs/sha256/" + digest.replacingOccurrences(of: "sha256:", with: "") }

    /// The image manifest and config behind the chart's tag.
    static func image() throws -> (manifest: [String: Any], config: [String: Any]) {
        let tag = try appVersion()
        let manifests = try json(layout + "/index.json")["manifests"] as? [[String: Any]] ?? []
        let entry = try #require(manifests.first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == tag },
                                 "no image tagged \(tag) in \(layout)")
        let manifest = try json(blob(try #require(entry["digest"] as? String)))
        let config = try json(blob(try #require((manifest["config"] as? [String: Any])?["digest"] as? String)))
        return (manifest, config)
    }

    /// Runs a command to completion, off the async pool (`offPool`): exit status and combined output.
    @discardableResult
    static func run(_ arguments: [String], directory: String? = nil) async throws -> (status: Int32, output: String) {
        try await offPool { try runBlocking(arguments, directory: directory) }
    }

    static func runBlocking(_ arguments: [String], directory: String?) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The image unpacked into a fresh bundle (`rootfs` + the runtime `config.json` umoci derives
    /// from the image config); removed with `cleanup`.
    struct Bundle {
        let path: String
        var rootfs: String { path + "/rootfs" }
        let runtime: [String: Any]

        init() async throws {
            let path = NSTemporaryDirectory() + "rr-image-\(UUID().uuidString)"
            self.path = path
            let image = "\(ImageTests.layout):\(try ImageTests.appVersion())"
            let (status, output) = try await ImageTests.run(["umoci", "unpack", "--image", image, path])
            guard status == 0 else { throw HarnessError("umoci unpack failed: \(output)") }
            runtime = try ImageTests.json(path + "/config.json")
            // The mount point a container runtime creates for /proc.
            try FileManager.default.createDirectory(atPath: rootfs + "/proc", withIntermediateDirectories: true)
        }

        var user: String {
            let user = (runtime["process"] as? [String: Any])?["user"] as? [String: Any]
            return "\(user?["uid"] as? Int ?? -1):\(user?["gid"] as? Int ?? -1)"
        }

        var entrypoint: [String] { (runtime["process"] as? [String: Any])?["args"] as? [String] ?? [] }
        var environment: [String] { (runtime["process"] as? [String: Any])?["env"] as? [String] ?? [] }

        /// The command line that runs the entrypoint with `arguments` in the rootfs as the image's user,
        /// with the image's environment only, in its own mount and PID namespaces with /proc mounted
        /// (both gone when the entrypoint ends; `ImageTests.entrypoint(of:)` finds its process).
        func command(_ arguments: [String]) throws -> [String] {
            ["env", "-i"] + environment
                + [try which("unshare"), "--mount", "--pid", "--fork", "--kill-child", "--mount-proc=\(rootfs)/proc"]
                + [try which("chroot"), "--userspec=\(user)", rootfs] + entrypoint + arguments
        }

        /// Copies a file from the host into the rootfs (root-owned, world-readable, like a mounted ConfigMap).
        func install(_ source: String, at target: String) throws {
            try FileManager.default.createDirectory(atPath: rootfs + (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: source, toPath: rootfs + target)
        }

        func cleanup() { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test func imageCarriesTheChartTagAnnotationsANonRootUserAndStaysUnder60MB() async throws {
        let version = try Self.appVersion()
        let (manifest, config) = try Self.image()
        let annotations = manifest["annotations"] as? [String: String] ?? [:]
        #expect(annotations["org.opencontainers.image.version"] == version)
        #expect(annotations["org.opencontainers.image.title"] == "replica-recommender")
        let revision = try #require(annotations["org.opencontainers.image.revision"])
        #expect(try await Self.run(["git", "cat-file", "-e", revision + "^{commit}"], directory: Self.root).status == 0,
                "revision \(revision) is not a commit of this repository")
        let image = config["config"] as? [String: Any] ?? [:]
        #expect(image["User"] as? String == "65532:65532")
        #expect(image["Entrypoint"] as? [String] == ["/usr/local/bin/replica-recommender"])
        #expect((image["Labels"] as? [String: String])?["org.opencontainers.image.version"] == version)

        let layers = manifest["layers"] as? [[String: Any]] ?? []
        let compressed = layers.compactMap { $0["size"] as? Int }.reduce(0, +)
        #expect(layers.count == 2)
        #expect(compressed < 60_000_000, "compressed image is \(compressed) bytes")

        // The docker-loadable archive names the image as the chart does.
        let archive = Self.root + "/.build/image/replica-recommender-\(version).docker.tar"
        let (status, listing) = try await Self.run(["tar", "-xOf", archive, "manifest.json"])
        #expect(status == 0, "\(listing)")
        let entries = try JSONSerialization.jsonObject(with: Data(listing.utf8)) as? [[String: Any]]
        // skopeo writes the normalized name, which docker load lists as replica-recommender:<version>.
        #expect(entries?.first?["RepoTags"] as? [String] == ["docker.io/library/replica-recommender:\(version)"])
    }

    @Test func everySharedLibraryTheBinaryNeedsIsInTheImage() async throws {
        let bundle = try await Bundle()
        defer { bundle.cleanup() }
        #expect(bundle.user == "65532:65532")
        let (status, output) = try await Self.run(["chroot", bundle.rootfs, "/lib64/ld-linux-x86-64.so.2", "--list", "/usr/local/bin/replica-recommender"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("libcurl.so.4") && output.contains("libssl.so.3"))
        #expect(!output.contains("not found"), "\(output)")
        #expect(FileManager.default.fileExists(atPath: bundle.rootfs + "/etc/ssl/certs/ca-certificates.crt"))
        #expect(try String(contentsOfFile: bundle.rootfs + "/etc/passwd", encoding: .utf8).contains("nonroot:x:65532:65532:"))
    }

    @Test func checkConfigRunsInsideTheImageAsTheNonRootUser() async throws {
        let bundle = try await Bundle()
        defer { bundle.cleanup() }
        try bundle.install(Self.root + "/config/examples/seed-1-overview.yaml", at: "/config/seed-1-overview.yaml")
        try bundle.install(Self.root + "/config/examples/broken.yaml", at: "/config/broken.yaml")

        let clean = try await Self.run(try bundle.command(["check-config", "/config/seed-1-overview.yaml"]))
        #expect(clean.status == 0, "\(clean.output)")
        #expect(clean.output.contains("/config/seed-1-overview.yaml: OK: 4 entries"), "\(clean.output)")
        let broken = try await Self.run(try bundle.command(["check-config", "/config/broken.yaml"]))
        #expect(broken.status == 1, "\(broken.output)")
        #expect(broken.output.contains("/config/broken.yaml:9: default: enable_scale_to_zero: expected a boolean"), "\(broken.output)")
    }

    @Test func serveInsideTheImageAnswersHealthzAndReachesATLSPrometheusWithItsCAFile() async throws {
        let bundle = try await Bundle()
        defer { bundle.cleanup() }
        let certificates = NSTemporaryDirectory() + "rr-image-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: certificates, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: certificates) }
        try await offPool { try TLSTests.makeCertificates(in: certificates) }
        let prometheus = try await PrometheusServer(
            webConfig: "tls_server_config:\n  cert_file: \(certificates)/server.crt\n  key_file: \(certificates)/server.key\n"
        ) { url in await ImageTests.status(url + "/-/ready", ca: certificates + "/ca.crt") == 200 }
        try bundle.install(certificates + "/ca.crt", at: "/etc/prometheus-ca/ca.crt")
        try bundle.install(Self.root + "/config/examples/seed-1-overview.yaml", at: "/etc/models/models.yaml")

        // Prometheus unreachable: alive, not ready.
        let alone = "http://127.0.0.1:\(try freePort())"
        let lonely = try launch(try bundle.command([
            "serve", "--config", "/etc/models/models.yaml", "--prometheus-url", "http://127.0.0.1:1",
            "--listen", alone.dropFirst("http://".count).description, "--interval", "1s", "--prometheus-attempts", "1"]))
        try await waitUntil(timeout: 20) { await httpStatus(alone + "/healthz") == 200 }
        #expect(await httpStatus(alone + "/readyz") == 503)
        let child = try Self.entrypoint(of: lonely)
        defer { kill(child, SIGKILL) }
        let uid = try String(contentsOfFile: "/proc/\(child)/status", encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("Uid:") }
        #expect(uid?.split(separator: "\t").dropFirst().allSatisfy { $0 == "65532" } == true, "\(uid ?? "no Uid line")")
        // As PID 1 of its namespace it has no default signal handling: it must handle SIGTERM itself.
        #expect(try await Self.stop(lonely, child), "the entrypoint did not exit on SIGTERM within 10 s")

        // TLS Prometheus with the CA file: libcurl and OpenSSL inside the image verify it and answer.
        let served = "http://127.0.0.1:\(try freePort())"
        let server = try launch(try bundle.command([
            "serve", "--config", "/etc/models/models.yaml", "--prometheus-url", prometheus.url,
            "--prometheus-ca-file", "/etc/prometheus-ca/ca.crt", "--listen", served.dropFirst("http://".count).description, "--interval", "1s"]))
        let serverChild = try Self.entrypoint(of: server)
        defer { kill(serverChild, SIGKILL) }
        try await waitUntil(timeout: 20) { await httpStatus(served + "/readyz") == 200 }
        let page = try String(contentsOf: URL(string: served + "/metrics")!, encoding: .utf8)
        #expect(page.contains("inferno_desired_replicas{namespace=\"production\",model_name=\"meta/llama-3.1-8b\""), "\(page.prefix(2000))")
        #expect(page.contains("recommender_prometheus_query_errors_total{signal=\"requests\"} 0"))
        #expect(try await Self.stop(server, serverChild))
    }

    /// The entrypoint's process: the child of `unshare`, which has the launched process' id.
    static func entrypoint(of process: Process) throws -> pid_t {
        let pid = process.processIdentifier
        var children = ""
        for _ in 0..<50 {
            children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
            if !children.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return try #require(children.split(separator: " ").first.flatMap { pid_t($0) }, "no child of unshare \(pid)")
    }

    /// Stops the entrypoint as a container runtime does, SIGTERM to it; true when it (and so the
    /// unshare around it) exited within 10 s.
    static func stop(_ process: Process, _ entrypoint: pid_t) async throws -> Bool {
        kill(entrypoint, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        return !process.isRunning
    }

    func launch(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let log = FileHandle(forWritingAtPath: "/dev/null")
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return process
    }

    /// The HTTP status of a GET over TLS verified with `ca`, via curl (URLSession cannot take a CA file).
    static func status(_ url: String, ca: String) async -> Int? {
        guard let result = try? await run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca, url]) else { return nil }
        return Int(result.output)
    }
}
