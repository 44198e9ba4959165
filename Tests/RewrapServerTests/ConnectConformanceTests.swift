import Foundation
import NIOCore
import NIOHTTP1
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapKeyRing
import RewrapProto
import RewrapServer
import RewrapTestSupport
import SwiftProtobuf
import Testing

/// kas-server.md §6.1, the lines that concern the Connect transport and PublicKey: each through a
/// socket, status, headers and body as a Go or Java client would see them.
@Suite struct ConnectConformanceTests {
    static let json = [("Content-Type", "application/json")]

    @Test func methodAndMediaTypeErrors() async throws {
        try await RunningServer.with { server in
            let getRewrap = try await Client.send("\(server.base)/kas.AccessService/Rewrap", method: .GET)
            #expect(getRewrap.status == 405 && getRewrap.headers.first(name: "allow") == "POST" && getRewrap.body.isEmpty)
            let put = try await Client.send("\(server.base)/kas.AccessService/PublicKey", method: .PUT, body: [])
            #expect(put.status == 405 && put.headers.first(name: "allow") == "GET, POST")
            let text = try await Client.send("\(server.base)/kas.AccessService/Rewrap", headers: [("Content-Type", "text/plain")], body: Array("x".utf8))
            #expect(text.status == 415 && text.headers.first(name: "accept-post") == "application/json, application/proto" && text.body.isEmpty)
            let unknown = try await Client.send("\(server.base)/kas.AccessService/Nope", headers: Self.json, body: Array("{}".utf8))
            #expect(unknown.status == 404)
            // charset=utf-8 is JSON too.
            let charset = try await Client.send("\(server.base)/kas.AccessService/PublicKey",
                                                headers: [("Content-Type", "application/json; charset=utf-8")], body: Array("{}".utf8))
            #expect(charset.status == 200)
        }
    }

    @Test func protocolHeaderRules() async throws {
        try await RunningServer.with { server in
            let url = "\(server.base)/kas.AccessService/PublicKey"
            let version = try await Client.send(url, headers: Self.json + [("Connect-Protocol-Version", "2")], body: Array("{}".utf8))
            #expect(version.status == 400)
            #expect(version.text == #"{"code":"invalid_argument","message":"connect-protocol-version must be \"1\": got \"2\""}"#)
            #expect(version.headers.first(name: "content-type") == "application/json")
            let long = try await Client.send(url, headers: Self.json + [("Connect-Timeout-Ms", "12345678901")], body: Array("{}".utf8))
            #expect(long.status == 400 && long.text.contains("invalid_argument"))
            let fine = try await Client.send(url, headers: Self.json + [("Connect-Timeout-Ms", "5000"), ("Connect-Protocol-Version", "1")],
                                             body: Array("{}".utf8))
            #expect(fine.status == 200)
            let brotli = try await Client.send(url, headers: Self.json + [("Content-Encoding", "br")], body: Array("{}".utf8))
            #expect(brotli.status == 501)
            #expect(brotli.text == #"{"code":"unimplemented","message":"unknown compression \"br\": supported encodings are gzip"}"#)
            // A zero-length body is never decompressed: for proto it is the empty message.
            let empty = try await Client.send(url, headers: [("Content-Type", "application/proto"), ("Content-Encoding", "gzip")], body: [])
            #expect(empty.status == 200)
            #expect(try Kas_PublicKeyResponse(serializedBytes: empty.body).kid == "rsa:2048")
            // ...and for JSON it is connect-go's error, not a gzip one.
            let emptyJSON = try await Client.send(url, headers: Self.json + [("Content-Encoding", "gzip")], body: [])
            #expect(emptyJSON.status == 400 && emptyJSON.text.contains("zero-length payload is not a valid JSON object"))
            let corrupt = try await Client.send(url, headers: Self.json + [("Content-Encoding", "gzip")], body: Array("not gzip".utf8))
            #expect(corrupt.status == 400 && corrupt.text.contains("invalid_argument"))
        }
    }

    /// Over the wire limit ⇒ 429 at once; a gzip bomb (small on the wire, huge inflated) ⇒ 429
    /// without inflating past the limit.
    @Test func sizeLimitsOnTheWireAndAfterGzip() async throws {
        try await RunningServer.with(configure: { $0.limits.maxMessageBytes = 64 * 1024 }) { server in
            let url = "\(server.base)/kas.AccessService/Rewrap"
            let big = [UInt8](repeating: 0x20, count: 100 * 1024)
            let oversized = try await Client.send(url, headers: Self.json, body: big)
            #expect(oversized.status == 429)
            #expect(oversized.text == #"{"code":"resource_exhausted","message":"message size 102400 is larger than configured max 65536"}"#)
            let bomb = try gzip([UInt8](repeating: 0x20, count: 50 << 20))
            #expect(bomb.count < 64 * 1024)
            let exploded = try await Client.send(url, headers: Self.json + [("Content-Encoding", "gzip")], body: bomb)
            #expect(exploded.status == 429 && exploded.text.contains("is larger than configured max 65536"))
            // The server is still there for everyone else.
            #expect(try await Client.send("\(server.base)/healthz", method: .GET).status == 200)
        }
    }

    @Test func connectGETForPublicKey() async throws {
        try await RunningServer.with { server in
            let json = try await Client.send("\(server.base)/kas.AccessService/PublicKey?encoding=json&connect=v1&message=%7B%22algorithm%22%3A%22ec%3Asecp256r1%22%7D",
                                             method: .GET)
            #expect(json.status == 200 && json.headers.first(name: "vary") == "Accept-Encoding")
            let key = try Kas_PublicKeyResponse(jsonUTF8Bytes: json.body)
            #expect(key.kid == "ec:secp256r1" && key.publicKey.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
            var request = Kas_PublicKeyRequest()
            request.algorithm = "rsa:2048"
            let message = Wire.base64URL(try request.serializedBytes())
            let proto = try await Client.send("\(server.base)/kas.AccessService/PublicKey?connect=v1&encoding=proto&base64=1&message=\(message)",
                                              method: .GET)
            #expect(proto.status == 200 && proto.headers.first(name: "content-type") == "application/proto")
            #expect(try Kas_PublicKeyResponse(serializedBytes: proto.body).kid == "rsa:2048")
            let missing = try await Client.send("\(server.base)/kas.AccessService/PublicKey?connect=v1&message=%7B%7D", method: .GET)
            #expect(missing.status == 400 && missing.text.contains("missing encoding parameter"))
            let noMessage = try await Client.send("\(server.base)/kas.AccessService/PublicKey?encoding=json", method: .GET)
            #expect(noMessage.status == 400 && noMessage.text.contains("missing message parameter"))
        }
    }

    /// kas-server.md §5's tables.
    @Test func publicKeySelectionAndErrors() async throws {
        try await RunningServer.with { server in
            func publicKey(_ body: String) async throws -> Client.Answer {
                try await Client.send("\(server.base)/kas.AccessService/PublicKey", headers: Self.json, body: Array(body.utf8))
            }
            let rsa = try Kas_PublicKeyResponse(jsonUTF8Bytes: try await publicKey("{}").body)
            #expect(rsa.kid == "rsa:2048")
            #expect(rsa.publicKey == (try Fixtures.publicKey("kas-rsa2048").pem()))
            #expect(try Kas_PublicKeyResponse(jsonUTF8Bytes: try await publicKey(#"{"algorithm":"rsa:2048","fmt":"pkcs8"}"#).body).kid == "rsa:2048")
            let jwk = try Kas_PublicKeyResponse(jsonUTF8Bytes: try await publicKey(#"{"algorithm":"rsa:2048","fmt":"jwk"}"#).body)
            #expect(jwk.publicKey.hasPrefix(#"{"e":"AQAB","kty":"RSA","n":""#) && jwk.publicKey.hasSuffix(#""}"#))
            #expect(try PublicKey(jwkJSON: jwk.publicKey).spkiDER() == (try Fixtures.publicKey("kas-rsa2048").spkiDER()))
            let noKid = try Kas_PublicKeyResponse(jsonUTF8Bytes: try await publicKey(#"{"algorithm":"ec:secp256r1","v":"1"}"#).body)
            #expect(noKid.kid.isEmpty && !noKid.publicKey.isEmpty)
            for unserved in [#"{"algorithm":"rsa:4096"}"#, #"{"algorithm":"ec:secp384r1"}"#, #"{"fmt":"der"}"#] {
                let answer = try await publicKey(unserved)
                #expect(answer.status == 404)
                #expect(answer.text == #"{"code":"not_found","message":"invalid algorithm or format"}"#)
            }
            let unknown = try await publicKey(#"{"algorithm":"rsa:1024"}"#)
            #expect(unknown.text == #"{"code":"not_found","message":"invalid config\nno default key for algorithm"}"#)
            // Proto names are accepted too, unknown fields ignored.
            let snake = try await publicKey(#"{"algorithm":"ec:secp256r1","somethingNew":1}"#)
            #expect(snake.status == 200)
            let legacy = try await Client.send("\(server.base)/kas.AccessService/LegacyPublicKey", headers: Self.json, body: Array("{}".utf8))
            #expect(legacy.status == 200 && legacy.text.hasPrefix("\"-----BEGIN PUBLIC KEY-----"))
            let legacyOther = try await Client.send("\(server.base)/kas.AccessService/LegacyPublicKey", headers: Self.json,
                                                    body: Array(#"{"algorithm":"x"}"#.utf8))
            #expect(legacyOther.text == #"{"code":"not_found","message":"invalid config\ninvalid algorithm"}"#)
        }
        let empty = try KeyRingDirectory(keyRing: KeyRing(keys: []))
        try await RunningServer.with(directory: empty) { server in
            let answer = try await Client.send("\(server.base)/kas.AccessService/PublicKey", headers: Self.json, body: Array("{}".utf8))
            #expect(answer.text == #"{"code":"not_found","message":"invalid config\nno default keys configured"}"#)
        }
    }

    @Test func healthAndRoutingPrefix() async throws {
        try await RunningServer.with(configure: { $0.routingPrefix = "/kas/" }) { server in
            let healthz = try await Client.send("\(server.base)/healthz", method: .GET)
            #expect(healthz.status == 200 && healthz.text == #"{"status":"SERVING"}"#)
            let unknown = try await Client.send("\(server.base)/healthz?service=other", method: .GET)
            #expect(unknown.status == 503 && unknown.text == #"{"status":"SERVICE_UNKNOWN"}"#)
            for (service, status) in [("", "SERVING"), ("kas", "SERVING"), ("nope", "SERVICE_UNKNOWN")] {
                let check = try await Client.send("\(server.base)/grpc.health.v1.Health/Check", headers: Self.json,
                                                  body: Array(#"{"service":"\#(service)"}"#.utf8))
                #expect(check.status == 200 && check.text == #"{"status":"\#(status)"}"#)
            }
            let prefixed = try await Client.send("\(server.base)/kas/kas.AccessService/PublicKey", headers: Self.json, body: Array("{}".utf8))
            #expect(prefixed.status == 200)
            let notAPrefix = try await Client.send("\(server.base)/kasx/kas.AccessService/PublicKey", headers: Self.json, body: Array("{}".utf8))
            #expect(notAPrefix.status == 404)
        }
    }
}
