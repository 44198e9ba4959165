import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapKeyRing
import RewrapServer
import RewrapTestSupport
import RewrapWire

/// A `KASServer` on a free loopback port for one test, with the fixture keys (kid = algorithm)
/// unless told otherwise; stopped by `stop()` (a cancellation) or `shutDownGracefully()`.
final class RunningServer: Sendable {
    let server: KASServer
    let port: Int
    let engine: RewrapEngine
    private let task: Task<Void, any Error>

    var base: String { "http://127.0.0.1:\(port)" }

    private init(server: KASServer, port: Int, engine: RewrapEngine, task: Task<Void, any Error>) {
        self.server = server
        self.port = port
        self.engine = engine
        self.task = task
    }

    static func start(
        keys: any KeySource = TestKeySource.fixtures, directory: (any PublicKeyDirectory)? = nil,
        authentication: (any RewrapAuthentication)? = nil, configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> RunningServer {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configure(&configuration)
        let engine = RewrapEngine(keys: keys)
        let directory = try directory ?? KeyRingDirectory(keyRing: KeyRing(keys: TestKeySource.fixtures.keys))
        let server = try KASServer(configuration: configuration, engine: engine, publicKeys: directory, authentication: authentication,
                                   metrics: .prometheus())
        let task = Task { try await server.run() }
        let port = try await server.listeningPort()
        return RunningServer(server: server, port: port, engine: engine, task: task)
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }

    /// Waits for `run()` to return on its own (after a graceful shutdown).
    func finished() async {
        _ = await task.result
    }

    /// Runs `body`, then stops the server however `body` ended.
    static func with<T: Sendable>(
        keys: any KeySource = TestKeySource.fixtures, directory: (any PublicKeyDirectory)? = nil,
        authentication: (any RewrapAuthentication)? = nil, configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: (RunningServer) async throws -> T
    ) async throws -> T {
        let running = try await start(keys: keys, directory: directory, authentication: authentication, configure: configure)
        do {
            let result = try await body(running)
            await running.stop()
            return result
        } catch {
            await running.stop()
            throw error
        }
    }
}

/// What the tests send: an unsigned SRT around a request body, as the server reads it with
/// authentication off (the signature part is not checked there).
enum Wire {
    static func base64URL(_ bytes: [UInt8]) -> String {
        Base64.encode(bytes).replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unsignedSRT(_ request: UnsignedRewrapRequest) -> String {
        var claims = JSONWriter(capacity: 256)
        claims.raw("{")
        claims.key("requestBody")
        claims.string(String(decoding: RewrapRequestBuilder.json(request), as: UTF8.self))
        claims.raw("}")
        return base64URL(Array("{\"alg\":\"ES256\",\"typ\":\"JWT\"}".utf8)) + "." + base64URL(claims.bytes) + "." + base64URL([1, 2, 3])
    }

    /// `kas.RewrapRequest` in protobuf binary: field 1, the token.
    static func rewrapProto(_ token: String) -> [UInt8] {
        RewrapRequestProto.encode(signedRequestToken: token)
    }

    static func rewrapJSON(_ token: String) -> [UInt8] {
        Array("{\"signedRequestToken\":\"\(token)\"}".utf8)
    }
}

/// An HTTP client that is not the server's code: AsyncHTTPClient over HTTP/1.1 (and h2 on TLS).
enum Client {
    static let shared = HTTPClient(eventLoopGroupProvider: .singleton)

    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    static func send(_ url: String, method: HTTPMethod = .POST, headers: [(String, String)] = [], body: [UInt8]? = nil,
                     client: HTTPClient = shared) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Array(collected.readableBytesView))
    }
}

/// curl, for what AsyncHTTPClient does not do (h2c prior knowledge) and for JSON by hand.
enum Curl {
    static let executable = URL(fileURLWithPath: "/usr/bin/curl")
    static var available: Bool { FileManager.default.isExecutableFile(atPath: executable.path) }

    struct Answer {
        var status: Int
        var httpVersion: String
        var headers: [String: String]
        var body: String
    }

    /// Runs curl with `-sS -i`, the body from a file when given; parses the status line and headers.
    static func run(_ arguments: [String], body: [UInt8]? = nil) throws -> Answer {
        var arguments = ["-sS", "-i", "--max-time", "30"] + arguments
        var bodyFile: URL?
        if let body {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("curl-body-\(UUID().uuidString)")
            try Data(body).write(to: file)
            arguments += ["--data-binary", "@\(file.path)"]
            bodyFile = file
        }
        defer { if let bodyFile { try? FileManager.default.removeItem(at: bodyFile) } }
        let run = try ChildProcess.run(executable, arguments, timeout: .seconds(60))
        guard run.status == 0 else { throw CurlFailed(status: run.status, stderr: run.stderr) }
        return parse(run.stdout)
    }

    struct CurlFailed: Error { var status: Int32; var stderr: String }

    static func parse(_ output: String) -> Answer {
        // With -i the head comes first; a 100 Continue head may precede the real one.
        var rest = Substring(output)
        while true {
            guard let end = rest.range(of: "\r\n\r\n") else { return Answer(status: 0, httpVersion: "", headers: [:], body: String(rest)) }
            let head = rest[..<end.lowerBound]
            rest = rest[end.upperBound...]
            let lines = head.components(separatedBy: "\r\n")
            let statusLine = lines[0].split(separator: " ")
            let status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
            if status == 100 { continue }
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            return Answer(status: status, httpVersion: String(statusLine.first ?? ""), headers: headers, body: String(rest))
        }
    }
}
