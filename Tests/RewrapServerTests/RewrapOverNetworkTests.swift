import Foundation
import NIOCore
import NIOHTTP1
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapProto
import RewrapServer
import RewrapTestSupport
import RewrapWire
import SwiftProtobuf
import Testing

/// Rewrap through a real socket: every combination a client uses, answers identical to the
/// in-process engine's, DEKs that open.
@Suite struct RewrapOverNetworkTests: RewrapExpectations {
    /// RSA and EC KAS keys, RSA and EC clients, proto over HTTP/1.1 (the Go SDK's choice):
    /// every DEK opens with the client key.
    @Test func protoRoundTripsForEveryKeyAndClientType() async throws {
        try await RunningServer.with { server in
            for client in [Self.rsaClient, Fixtures.privateKey("client-secp256r1")] {
                let (rsa, rsaDEK) = try makeKAO(.rsa2048)
                let (ec, ecDEK) = try makeKAO(.ecP256)
                let request = makeRequest(client: try client.publicKey.pem(), kaos: [rsa, ec])
                let answer = try await Client.send("\(server.base)/kas.AccessService/Rewrap",
                                                   headers: [("Content-Type", "application/proto"), ("Connect-Protocol-Version", "1")],
                                                   body: Wire.rewrapProto(Wire.unsignedSRT(request)))
                #expect(answer.status == 200)
                #expect(answer.headers.first(name: "content-type") == "application/proto")
                let decoded = try Kas_RewrapResponse(serializedBytes: answer.body)
                let response = RewrapResponse(decoded)
                #expect(Self.opens(response, kao: "kao-0", to: rsaDEK, with: client))
                #expect(Self.opens(response, kao: "kao-1", to: ecDEK, with: client))
            }
        }
    }

    /// The proto answer is byte-for-byte what swift-protobuf writes for the same message, and
    /// per-KAO errors are the in-process engine's strings.
    @Test func perKAOErrorsMatchTheInProcessEngine() async throws {
        try await RunningServer.with { server in
            let (good, _) = try makeKAO(.rsa2048)
            var tampered = good
            tampered.wrappedKey[10] ^= 0x55
            var noKey = good
            noKey.kid = "no-such-kid"
            let request = makeRequest(client: Self.rsaClientPEM, kaos: [good, tampered, noKey])
            let local = try await engine().rewrap(request)
            let answer = try await Client.send("\(server.base)/kas.AccessService/Rewrap",
                                               headers: [("Content-Type", "application/proto")], body: Wire.rewrapProto(Wire.unsignedSRT(request)))
            let remote = RewrapResponse(try Kas_RewrapResponse(serializedBytes: answer.body))
            for id in ["kao-1", "kao-2"] {
                #expect(remote.result(policyID: "policy", keyAccessObjectID: id)?.error != nil)
                #expect(remote.result(policyID: "policy", keyAccessObjectID: id)?.error
                    == local.result(policyID: "policy", keyAccessObjectID: id)?.error)
            }
            // Our writer and swift-protobuf's agree on every byte.
            #expect(answer.body == (try Kas_RewrapResponse(serializedBytes: answer.body).serializedBytes() as [UInt8]))
        }
    }

    /// JSON by curl, with a gzipped request body and a gzipped answer (threshold 0).
    @Test func jsonWithGzipBothWaysThroughCurl() async throws {
        guard Curl.available else { print("skipped: /usr/bin/curl is missing"); return }
        try await RunningServer.with(configure: { $0.limits.compressionThreshold = 0 }) { server in
            let (kao, dek) = try makeKAO(.ecP256)
            let request = makeRequest(client: Self.rsaClientPEM, kaos: [kao])
            let body = try gzip(Wire.rewrapJSON(Wire.unsignedSRT(request)))
            let answer = try Curl.run(["\(server.base)/kas.AccessService/Rewrap", "-H", "Content-Type: application/json",
                                       "-H", "Content-Encoding: gzip", "--compressed"], body: body)
            #expect(answer.status == 200)
            #expect(answer.headers["content-encoding"] == "gzip")
            let response = try ProtoJSON.decode(RewrapResponse.self, from: Array(answer.body.utf8))
            #expect(Self.opens(response, kao: "kao-0", to: dek))
        }
    }

    /// h2c with prior knowledge (the Java SDK) and TLS with ALPN h2 and http/1.1, on curl.
    @Test func h2cAndTLSServeTheSameRewrap() async throws {
        guard Curl.available else { print("skipped: /usr/bin/curl is missing"); return }
        let (kao, dek) = try makeKAO(.rsa2048)
        let request = makeRequest(client: Self.rsaClientPEM, kaos: [kao])
        let body = Wire.rewrapJSON(Wire.unsignedSRT(request))
        try await RunningServer.with { server in
            let answer = try Curl.run(["--http2-prior-knowledge", "\(server.base)/kas.AccessService/Rewrap",
                                       "-H", "Content-Type: application/json"], body: body)
            #expect(answer.httpVersion == "HTTP/2")
            #expect(answer.status == 200)
            #expect(Self.opens(try ProtoJSON.decode(RewrapResponse.self, from: Array(answer.body.utf8)), kao: "kao-0", to: dek))
            // HTTP/1.1 on the same port.
            let plain = try Curl.run(["--http1.1", "\(server.base)/kas.AccessService/Rewrap", "-H", "Content-Type: application/json"], body: body)
            #expect(plain.httpVersion == "HTTP/1.1" && plain.status == 200)
        }
        let tls = try TLSFixture.make()
        try await RunningServer.with(configure: { $0.tls = .init(certificateChainPath: tls.certificate, privateKeyPath: tls.key) }) { server in
            let url = "https://localhost:\(server.port)/kas.AccessService/Rewrap"
            let h2 = try Curl.run(["--http2", "--cacert", tls.certificate, url, "-H", "Content-Type: application/json"], body: body)
            #expect(h2.httpVersion == "HTTP/2" && h2.status == 200)
            let h1 = try Curl.run(["--http1.1", "--cacert", tls.certificate, url, "-H", "Content-Type: application/json"], body: body)
            #expect(h1.httpVersion == "HTTP/1.1" && h1.status == 200)
            #expect(Self.opens(try ProtoJSON.decode(RewrapResponse.self, from: Array(h1.body.utf8)), kao: "kao-0", to: dek))
        }
    }

    /// The legacy v1 body (the Java SDK's): `entityWrappedKey` set; a failed KAO is the RPC error.
    @Test func legacyV1BodyIsAccepted() async throws {
        try await RunningServer.with { server in
            let (kao, dek) = try makeKAO(.rsa2048)
            let v1 = UnsignedRewrapRequest(clientPublicKey: Self.rsaClientPEM, requests: [], keyAccess: kao, policy: Fixtures.vectors.policy)
            let answer = try await Client.send("\(server.base)/kas.AccessService/Rewrap",
                                               headers: [("Content-Type", "application/proto")], body: Wire.rewrapProto(Wire.unsignedSRT(v1)))
            #expect(answer.status == 200)
            let decoded = try Kas_RewrapResponse(serializedBytes: answer.body)
            #expect(!decoded.entityWrappedKey.isEmpty)
            #expect(Self.opens(RewrapResponse(decoded), policy: "policy-1", kao: "kao-0", to: dek))

            var broken = kao
            broken.wrappedKey[3] ^= 1
            let bad = UnsignedRewrapRequest(clientPublicKey: Self.rsaClientPEM, requests: [], keyAccess: broken, policy: Fixtures.vectors.policy)
            let failed = try await Client.send("\(server.base)/kas.AccessService/Rewrap",
                                               headers: [("Content-Type", "application/json")], body: Wire.rewrapJSON(Wire.unsignedSRT(bad)))
            #expect(failed.status == 400)
            #expect(failed.text == #"{"code":"invalid_argument","message":"request error\nrpc error: code = InvalidArgument desc = bad request"}"#)
        }
    }

}

/// gzip by the gzip command (an implementation that is not the server's).
func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("gzip-\(UUID().uuidString)")
    try Data(bytes).write(to: file)
    defer {
        try? FileManager.default.removeItem(at: file)
        try? FileManager.default.removeItem(atPath: file.path + ".gz")
    }
    _ = try ChildProcess.run(URL(fileURLWithPath: "/bin/gzip"), ["-f", "-n", file.path])
    return Array(try Data(contentsOf: URL(fileURLWithPath: file.path + ".gz")))
}

extension RewrapResponse {
    /// The generated message in the engine's model (for opening DEKs with the writer's code).
    init(_ message: Kas_RewrapResponse) {
        self.init(sessionPublicKey: message.sessionPublicKey, responses: message.responses.map { policy in
            PolicyRewrapResult(policyId: policy.policyID, results: policy.results.map { result in
                let outcome: KeyAccessRewrapResult.Outcome = result.status == "permit"
                    ? .permit(kasWrappedKey: Array(result.kasWrappedKey)) : .fail(error: result.error)
                let obligations = result.metadata["X-Required-Obligations"]?.listValue.values.map(\.stringValue) ?? []
                return KeyAccessRewrapResult(keyAccessObjectId: result.keyAccessObjectID, outcome: outcome, requiredObligations: obligations)
            })
        }, entityWrappedKey: Array(message.entityWrappedKey))
    }
}

/// A self-signed certificate for `localhost` made with the openssl command line.

