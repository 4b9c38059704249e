import Foundation
import Testing
import PrometheusClient

/// The libcurl transport against a real Prometheus serving TLS and requiring a client certificate:
/// the CA file, the client certificate and insecure-skip-verify, which URLSession on Linux lacks.
struct TLSTests {
    /// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.
    static func makeCertificates(in directory: String) throws {
        let script = """
            set -e
            cd '\(directory)'
            openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca -keyout ca.key -out ca.crt 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile san.ext -out server.crt 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -subj /CN=replica-recommender -keyout client.key -out client.csr 2>/dev/null
            openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -out client.crt 2>/dev/null
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HarnessError("openssl failed") }
    }

    @Test func caFileAndClientCertificateReachATLSPrometheusAndTheirAbsenceFails() async throws {
        let certificates = NSTemporaryDirectory() + "rr-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: certificates, withIntermediateDirectories: true)
        try await offPool { try Self.makeCertificates(in: certificates) }
        let web = """
            tls_server_config:
              cert_file: \(certificates)/server.crt
              key_file: \(certificates)/server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: \(certificates)/ca.crt
            """
        @Sendable func client(_ url: String, ca: Bool = true, clientCertificate: Bool = true, insecure: Bool = false) -> PrometheusClient {
            PrometheusClient(
                transport: CurlTransport(connection: PrometheusConnection(
                    url: url, caFile: ca ? certificates + "/ca.crt" : nil,
                    clientCertFile: clientCertificate ? certificates + "/client.crt" : nil,
                    clientKeyFile: clientCertificate ? certificates + "/client.key" : nil,
                    insecureSkipVerify: insecure, timeoutSeconds: 3)),
                retry: RetryPolicy(attempts: 1))
        }
        let prometheus = try await PrometheusServer(webConfig: web) { url in
            (try? await client(url).query("vector(1)")) != nil
        }
        #expect(try await client(prometheus.url).query("vector(7)").map(\.value) == [7])
        // Without the CA the server certificate is not trusted, unless verification is skipped.
        await #expect(throws: PrometheusError.self) { try await client(prometheus.url, ca: false).query("vector(1)") }
        #expect(try await client(prometheus.url, ca: false, insecure: true).query("vector(2)").map(\.value) == [2])
        // Without the client certificate the server refuses the connection.
        await #expect(throws: PrometheusError.self) { try await client(prometheus.url, clientCertificate: false).query("vector(1)") }
    }
}
