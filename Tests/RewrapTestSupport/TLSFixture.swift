import Foundation

/// A throw-away self-signed P-256 server certificate for localhost and 127.0.0.1, made by the
/// openssl command (an implementation that is not ours).
public enum TLSFixture {
    public struct Files: Sendable { public var certificate: String; public var key: String }

    public static func make() throws -> Files {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewrap-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("server.crt").path
        let key = directory.appendingPathComponent("server.key").path
        let run = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/openssl"), [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", key, "-out", certificate,
        ])
        guard run.status == 0 else { throw OpenSSLFailed(stderr: run.stderr) }
        return Files(certificate: certificate, key: key)
    }

    public struct OpenSSLFailed: Error { public var stderr: String }
}
