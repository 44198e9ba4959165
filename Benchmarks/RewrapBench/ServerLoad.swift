import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RewrapAuth
import RewrapBenchKit
import RewrapCrypto
import RewrapEngine
import RewrapGzip
import RewrapLoad
import RewrapWire
import Synchronization

/// The client side of the server benchmark, as an OpenTDF SDK talks to a KAS: one DPoP key,
/// access tokens bound to it, and per Rewrap a freshly signed SRT (ES256 under the DPoP key)
/// and a fresh DPoP proof (`jti`, `htm`, `htu`, `ath`), the body as Connect protobuf, gzip.
/// Request JSON is prepared before the run, so a send costs the two signatures, gzip and I/O.
struct ServerClient: Sendable {
    let http: HTTPClient
    let base: String
    /// nil: the server runs with authentication off.
    let proofs: DPoPProofSigner?
    let srtSigner: JWSSigner

    var rewrapURL: String { base + "/kas.AccessService/Rewrap" }

    init(http: HTTPClient, base: String, key: PrivateKey, authenticated: Bool) throws {
        self.http = http
        self.base = base
        proofs = authenticated ? try DPoPProofSigner(key: key, algorithm: .es256) : nil
        srtSigner = try JWSSigner(key: key, algorithm: .es256)
    }

    /// A DPoP-bound access token from the issuer's token endpoint (client credentials), as the
    /// Go SDK gets one from Keycloak.
    func token(tokenURL: String, client: String = "opentdf:secret") async throws -> String {
        guard let proofs else { throw BenchError("no DPoP key: authentication is off") }
        var request = HTTPClientRequest(url: tokenURL)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Basic " + Base64.encode(Array(client.utf8)))
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "DPoP", value: try proofs.proof(method: "POST", url: tokenURL, issuedAt: SystemAuthClock().now()))
        request.body = .bytes(ByteBuffer(string: "grant_type=client_credentials"))
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        struct Issued: Decodable { var access_token: String; var token_type: String }
        guard response.status == .ok, let issued = try? JSONDecoder().decode(Issued.self, from: Data(body.readableBytesView)),
              issued.token_type == "DPoP" else {
            throw BenchError("the token endpoint answered \(response.status.code): \(String(buffer: body))")
        }
        return issued.access_token
    }

    /// One Rewrap as the load sends it. `json`: the correctness pass's identity JSON instead.
    func request(requestJSON: String, token: String?, json: Bool = false) throws -> HTTPClientRequest {
        let srt = try SignedRequestToken.make(requestBody: requestJSON, signer: srtSigner)
        var request = HTTPClientRequest(url: rewrapURL)
        request.method = .POST
        request.headers.add(name: "Connect-Protocol-Version", value: "1")
        if json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: "{\"signedRequestToken\":\"\(srt)\"}"))
        } else {
            request.headers.add(name: "Content-Type", value: "application/proto")
            request.headers.add(name: "Content-Encoding", value: "gzip")
            request.headers.add(name: "Accept-Encoding", value: "gzip")
            // Level 1, as the server answers (RewrapGzip): connect-go's default 6 cost this client ~870 µs of
            // ~1,800 per P-256 batch-64 request, CPU taken from the cores the server is measured on.
            request.body = .bytes(Gzip.compress(ByteBuffer(bytes: RewrapRequestProto.encode(signedRequestToken: srt)), allocator: ByteBufferAllocator()))
        }
        if let proofs, let token {
            request.headers.add(name: "Authorization", value: "DPoP \(token)")
            request.headers.add(name: "DPoP", value: try proofs.proof(method: "POST", url: rewrapURL, accessToken: token,
                                                                     issuedAt: SystemAuthClock().now()))
        }
        return request
    }
}

/// How long a timed server run lasts.
enum ServerRunLength: Sendable {
    case seconds(Double)
    /// Exactly this many requests (one per fresh token in the uncached case).
    case requests(Int)
}

/// One timed run against the server.
struct ServerRun {
    var requests = 0
    var kaos = 0
    var seconds = 0.0
    var serverCPUSeconds = 0.0
    var clientCPUSeconds = 0.0
    var latency = LatencyRecorder()
    var errors = 0
    var firstError: String?
    var healthz: LatencyRecorder?
    /// Allocation calls of the server process in the window (nil: not counted).
    var serverMallocs: Int64?

    var kaoPerSecond: Double { seconds > 0 ? Double(kaos) / seconds : 0 }
    var requestsPerSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }
    var serverCPUMicrosecondsPerRequest: Double { requests > 0 ? serverCPUSeconds * 1e6 / Double(requests) : 0 }
    var clientCPUMicrosecondsPerRequest: Double { requests > 0 ? clientCPUSeconds * 1e6 / Double(requests) : 0 }
    var serverMallocsPerRequest: Double? { serverMallocs.map { requests > 0 ? Double($0) / Double(requests) : 0 } }
}

enum ServerLoad {
    private final class Claims: Sendable {
        let next = Atomic<Int>(0)
        /// Set when the load's last stream ends: the /healthz probe stops.
        let loadDone = Atomic<Bool>(false)
    }

    /// Closed loop: `streams` request loops over keep-alive connections; with `probe`, a
    /// GET /healthz every 20 ms on a connection of its own (`probe`) while the load runs. With
    /// `allocations`, the server's allocation calls in the window are counted (give no probe:
    /// its requests would count too).
    static func run(_ client: ServerClient, server: RewrapChild, requestJSON: [String], batch: Int, tokens: [String?],
                    streams: Int, length: ServerRunLength, probe: HTTPClient? = nil,
                    allocations: ServerAllocationCounter? = nil) async -> ServerRun {
        let deadline: UInt64
        let budget: Int
        switch length {
        case .seconds(let seconds):
            deadline = Measurement.now() + UInt64(seconds * 1e9)
            budget = .max
        case .requests(let count):
            deadline = .max
            budget = count
        }
        let claims = Claims()
        let mallocsBefore = allocations?.count()
        let serverBefore = server.cpuSeconds()
        let clientBefore = ProcessUsage.cpuSeconds()
        let start = Measurement.now()
        var run = ServerRun()
        await withTaskGroup(of: ServerRun.self) { group in
            for _ in 0..<streams {
                group.addTask {
                    var part = ServerRun()
                    while Measurement.now() < deadline {
                        let index = claims.next.wrappingAdd(1, ordering: .relaxed).oldValue
                        if index >= budget { break }
                        let begin = Measurement.now()
                        do {
                            let request = try client.request(requestJSON: requestJSON[index % requestJSON.count],
                                                             token: tokens[index % tokens.count])
                            let response = try await client.http.execute(request, timeout: .seconds(60))
                            let body = try await response.body.collect(upTo: 64 << 20)
                            if response.status == .ok {
                                part.requests += 1
                                part.kaos += batch
                            } else {
                                part.errors += 1
                                if part.firstError == nil { part.firstError = "HTTP \(response.status.code): \(String(buffer: body).prefix(300))" }
                            }
                        } catch {
                            part.errors += 1
                            if part.firstError == nil { part.firstError = "\(error)" }
                        }
                        part.latency.record(nanoseconds: Measurement.now() - begin)
                    }
                    return part
                }
            }
            if let probe {
                group.addTask {
                    var part = ServerRun()
                    var health = LatencyRecorder()
                    while !claims.loadDone.load(ordering: .relaxed) {
                        let begin = Measurement.now()
                        var request = HTTPClientRequest(url: client.base + "/healthz")
                        request.method = .GET
                        if let response = try? await probe.execute(request, timeout: .seconds(30)) {
                            _ = try? await response.body.collect(upTo: 1 << 16)
                            health.record(nanoseconds: Measurement.now() - begin)
                        }
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                    part.healthz = health
                    return part
                }
            }
            var finished = 0
            for await part in group {
                run.requests += part.requests
                run.kaos += part.kaos
                run.latency.add(part.latency)
                run.errors += part.errors
                run.firstError = run.firstError ?? part.firstError
                if let health = part.healthz { run.healthz = health }
                if part.healthz == nil {
                    finished += 1
                    if finished == streams {
                        // The load is over: the timed window ends here, the probe stops.
                        run.seconds = Double(Measurement.now() - start) / 1e9
                        run.serverCPUSeconds = server.cpuSeconds() - serverBefore
                        run.clientCPUSeconds = ProcessUsage.cpuSeconds() - clientBefore
                        if let allocations, let mallocsBefore { run.serverMallocs = allocations.count() - mallocsBefore }
                        claims.loadDone.store(true, ordering: .relaxed)
                    }
                }
            }
        }
        return run
    }

    /// Every distinct request once, as JSON over identity, every KAO checked (open to its DEK).
    static func check(_ client: ServerClient, workload: Workload, requestJSON: [String], token: String?) async -> BenchReport.Correctness {
        var result = BenchReport.Correctness()
        for (index, json) in requestJSON.enumerated() {
            var response: RewrapResponse?
            if let request = try? client.request(requestJSON: json, token: token, json: true),
               let answer = try? await client.http.execute(request, timeout: .seconds(60)),
               let body = try? await answer.body.collect(upTo: 64 << 20), answer.status == .ok {
                response = try? ProtoJSON.decode(RewrapResponse.self, from: Array(body.readableBytesView))
            }
            result.add(workload.verify(response, request: index))
        }
        return result
    }
}

/// The raw cost of the signature checks authentication needs, on one thread: a JWS verify is
/// SHA-256 over the signing input plus the signature check, so each is measured over a message
/// of the size the server really verifies (a batch-64 SRT is ~60 KB).
enum RawVerifyCost {
    static func microseconds(_ algorithm: JWSAlgorithm, messageBytes: Int, seconds: Double) throws -> Double {
        let key = try PrivateKey.generate(algorithm == .rs256 ? .rsa2048 : .ec(.p256))
        let message = [UInt8](repeating: 0x61, count: messageBytes)
        let signature = try key.signature(over: message, algorithm: algorithm)
        let publicKey = key.publicKey
        guard publicKey.verifies(signature: signature, over: message, algorithm: algorithm) else {
            throw BenchError("\(algorithm) signature did not verify")
        }
        let start = Measurement.now()
        let end = start + UInt64(seconds * 1e9)
        var count = 0
        var failed = 0
        while Measurement.now() < end || count < 10 {
            if !publicKey.verifies(signature: signature, over: message, algorithm: algorithm) { failed += 1 }
            count += 1
        }
        let elapsed = Measurement.now() - start
        guard failed == 0 else { throw BenchError("\(algorithm): \(failed) of \(count) verifications failed") }
        return Double(elapsed) / 1e3 / Double(count)
    }
}
