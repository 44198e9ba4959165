import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

/// The engine's JSON interface: proto3-JSON request decoding (spec §1.4, §3.4), bodies that are
/// not a request, and the JSON response (spec §4.1), on the known-answer RSA vector.
@Suite struct EngineJSONTests {
    static let vector = Fixtures.vectors.rsa[0]
    static let clientPEM = Fixtures.pem("client-rsa2048", "public")
    static let wrappedKey = Base64.decode(vector.wrappedKey, options: .strictStandard)!

    /// The four spellings protojson accepts for the same `bytes`.
    static func base64Forms(_ standardPadded: String) -> [(String, String)] {
        let unpadded = String(standardPadded.reversed().drop { $0 == "=" }.reversed())
        let url = standardPadded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        let urlUnpadded = unpadded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return [("standard padded", standardPadded), ("standard unpadded", unpadded), ("url-safe padded", url),
                ("url-safe unpadded", urlUnpadded)]
    }

    static func json(_ object: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// The Go SDK's request for the rsa:2048 known-answer vector, camelCase JSON names.
    static func camelCaseBody(wrappedKey: String = vector.wrappedKey, extra: [String: Any] = [:]) -> [String: Any] {
        var body: [String: Any] = [
            "clientPublicKey": clientPEM,
            "requests": [[
                "keyAccessObjects": [[
                    "keyAccessObjectId": "kao-0",
                    "keyAccessObject": [
                        "policyBinding": ["alg": "HS256", "hash": vector.binding],
                        "protocol": "kas", "type": "wrapped", "url": "http://localhost:8080", "kid": "rsa:2048",
                        "sid": "split-1", "wrappedKey": wrappedKey,
                    ] as [String: Any],
                ]],
                "policy": ["id": "policy", "body": Fixtures.vectors.policy],
            ] as [String: Any]],
        ]
        for (key, value) in extra { body[key] = value }
        return body
    }

    /// The same request with the original proto field names.
    static func snakeCaseBody(wrappedKey: String = vector.wrappedKey) -> [String: Any] {
        [
            "client_public_key": clientPEM,
            "requests": [[
                "key_access_objects": [[
                    "key_access_object_id": "kao-0",
                    "key_access_object": [
                        "policy_binding": ["algorithm": "HS256", "hash": vector.binding],
                        "protocol": "kas", "key_type": "wrapped", "kas_url": "http://localhost:8080", "kid": "rsa:2048",
                        "split_id": "split-1", "wrapped_key": wrappedKey,
                    ] as [String: Any],
                ]],
                "policy": ["id": "policy", "body": Fixtures.vectors.policy],
            ] as [String: Any]],
        ]
    }

    static let expectedKAO = KeyAccess(
        keyType: "wrapped", kasURL: "http://localhost:8080", protocol: "kas", kid: "rsa:2048", splitID: "split-1",
        wrappedKey: wrappedKey, policyBinding: PolicyBinding(algorithm: "HS256", hash: vector.binding))

    static let expectedRequest = UnsignedRewrapRequest(
        clientPublicKey: clientPEM,
        requests: [.init(keyAccessObjects: [.init(keyAccessObjectId: "kao-0", keyAccessObject: expectedKAO)],
                         policy: .init(id: "policy", body: Fixtures.vectors.policy))])

    static func requestError(_ body: () throws -> Void) -> RewrapRequestError? {
        do {
            try body()
            return nil
        } catch let error as RewrapRequestError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    /// Whether the DEK of `kao` opens to the vector's DEK.
    static func opensToVectorDEK(_ response: RewrapResponse, kao: String = "kao-0", client: String = "client-rsa2048") -> Bool {
        guard let dek = try? TDFWriter().unwrap(response, policyID: "policy", keyAccessObjectID: kao,
                                                clientPrivateKey: Fixtures.privateKey(client)) else { return false }
        return dek.copyBytes() == hex(vector.dek)
    }

    // MARK: Field names, base64 forms, unknown fields

    @Test func camelCaseAndSnakeCaseDecodeToTheSameRequest() throws {
        #expect(Self.vector.wrappedKey.contains("+") && Self.vector.wrappedKey.contains("/"))
        let camel = try engine().decodeRequest(try Self.json(Self.camelCaseBody()))
        let snake = try engine().decodeRequest(try Self.json(Self.snakeCaseBody()))
        #expect(camel == Self.expectedRequest)
        #expect(snake == Self.expectedRequest)
        let direct = try ProtoJSON.decode(UnsignedRewrapRequest.self, from: try Self.json(Self.snakeCaseBody()))
        #expect(direct == Self.expectedRequest)
    }

    @Test func wrappedKeyInEveryBase64FormRewraps() async throws {
        #expect(Self.vector.wrappedKey.hasSuffix("=="))
        for (label, text) in Self.base64Forms(Self.vector.wrappedKey) {
            for body in [Self.camelCaseBody(wrappedKey: text), Self.snakeCaseBody(wrappedKey: text)] {
                let json = try Self.json(body)
                let request = try engine().decodeRequest(json)
                let kao = try #require(request.requests.first?.keyAccessObjects.first?.keyAccessObject)
                #expect(kao.wrappedKey == Self.wrappedKey, "\(label)")
                let response = try ProtoJSON.decode(RewrapResponse.self, from: try await engine().rewrap(json: json))
                #expect(Self.opensToVectorDEK(response), "\(label)")
            }
        }
    }

    @Test func unknownFieldsAreIgnored() throws {
        var body = Self.camelCaseBody(extra: ["futureTopLevel": ["nested": [1, 2, 3]], "schemaVersion": "1.0"])
        var requests = try #require(body["requests"] as? [[String: Any]])
        requests[0]["futureRequestField"] = true
        var kaos = try #require(requests[0]["keyAccessObjects"] as? [[String: Any]])
        kaos[0]["futureWrapperField"] = NSNull()
        var kao = try #require(kaos[0]["keyAccessObject"] as? [String: Any])
        kao["schemaVersion"] = "4.3.0"
        kao["futureKAOField"] = ["a": "b"]
        kao["policyBinding"] = ["alg": "HS256", "hash": Self.vector.binding, "extra": 1]
        kaos[0]["keyAccessObject"] = kao
        requests[0]["keyAccessObjects"] = kaos
        requests[0]["policy"] = ["id": "policy", "body": Fixtures.vectors.policy, "unknown": []]
        body["requests"] = requests
        #expect(try engine().decodeRequest(try Self.json(body)) == Self.expectedRequest)
    }

    /// The Go SDK fills the deprecated top-level fields for single-KAO requests; `requests`
    /// wins and they produce no result of their own.
    @Test func deprecatedTopLevelFieldsAreTolerated() async throws {
        let kaoObject = try #require(((Self.camelCaseBody()["requests"] as? [[String: Any]])?.first?["keyAccessObjects"]
            as? [[String: Any]])?.first?["keyAccessObject"])
        for extra in [
            ["keyAccess": kaoObject, "policy": Fixtures.vectors.policy, "algorithm": "rsa:2048"] as [String: Any],
            ["key_access": kaoObject, "policy": Fixtures.vectors.policy, "algorithm": ""],
        ] {
            let json = try Self.json(Self.camelCaseBody(extra: extra))
            let request = try engine().decodeRequest(json)
            #expect(request.requests == Self.expectedRequest.requests)
            #expect(request.keyAccess == Self.expectedKAO)
            let response = try ProtoJSON.decode(RewrapResponse.self, from: try await engine().rewrap(json: json))
            #expect(response.responses.count == 1)
            #expect(response.responses.first?.results.count == 1)
            #expect(Self.opensToVectorDEK(response))
        }
        // What the Go SDK builder emits for one KAO round-trips.
        let built = RewrapRequestBuilder.request(
            clientPublicKeyPEM: Self.clientPEM, policies: [(id: "policy", body: Fixtures.vectors.policy, kaos: [Self.expectedKAO])])
        #expect(built.keyAccess != nil && !built.policy.isEmpty)
        #expect(try engine().decodeRequest(RewrapRequestBuilder.json(built)) == built)
    }

    // MARK: Bodies that are not a request

    @Test func malformedBodiesAreInvalidRequestBody() throws {
        var stringBinding = Self.camelCaseBody()
        var requests = try #require(stringBinding["requests"] as? [[String: Any]])
        var kaos = try #require(requests[0]["keyAccessObjects"] as? [[String: Any]])
        var kao = try #require(kaos[0]["keyAccessObject"] as? [String: Any])
        kao["policyBinding"] = Self.vector.binding  // legacy string form where a message is expected
        kaos[0]["keyAccessObject"] = kao
        requests[0]["keyAccessObjects"] = kaos
        stringBinding["requests"] = requests

        var numericKid = stringBinding
        kao["policyBinding"] = ["alg": "HS256", "hash": Self.vector.binding]
        kao["kid"] = 5
        kaos[0]["keyAccessObject"] = kao
        requests[0]["keyAccessObjects"] = kaos
        numericKid["requests"] = requests

        let cases: [(String, [UInt8])] = [
            ("string policyBinding", try Self.json(stringBinding)),
            ("numeric kid", try Self.json(numericKid)),
            ("wrappedKey not base64", try Self.json(Self.camelCaseBody(wrappedKey: "%%%not base64%%%"))),
            ("wrappedKey with a space", try Self.json(Self.camelCaseBody(wrappedKey: "AAAA AAAA"))),
            ("wrappedKey a number", try Self.json(["clientPublicKey": Self.clientPEM,
                                                   "requests": [["keyAccessObjects": [["keyAccessObject": ["wrappedKey": 12]]]]]] as [String: Any])),
            ("requests an object", try Self.json(["clientPublicKey": Self.clientPEM, "requests": ["a": 1]] as [String: Any])),
            ("deprecated keyAccess a string", try Self.json(Self.camelCaseBody(extra: ["keyAccess": "oops"]))),
            ("clientPublicKey a number", try Self.json(Self.camelCaseBody(extra: ["clientPublicKey": 7]))),
            ("top-level array", Array("[]".utf8)),
            ("not JSON", Array("clientPublicKey=abc".utf8)),
            ("truncated JSON", Array(try Self.json(Self.camelCaseBody()).dropLast())),
        ]
        for (label, json) in cases {
            #expect(Self.requestError { _ = try engine().decodeRequest(json) } == .invalidRequestBody, "\(label)")
        }
        #expect(Self.requestError { _ = try engine().decodeRequest([]) } == .missingRequestBody)
    }

    @Test func emptyRequestsListIsInvalid() async throws {
        let json = try Self.json(["clientPublicKey": Self.clientPEM, "requests": [Any]()] as [String: Any])
        var thrown: RewrapRequestError?
        do { _ = try await engine().rewrap(json: json) } catch { thrown = error }
        #expect(thrown == .invalidRequestBody)
    }

    /// proto3 JSON `null` means "not set": a null KAO, a null wrappedKey, a null policy.
    @Test func nullsMeanUnset() async throws {
        let json = try Self.json([
            "clientPublicKey": Self.clientPEM,
            "requests": [
                ["keyAccessObjects": [
                    ["keyAccessObjectId": "null-kao", "keyAccessObject": NSNull()],
                    ["keyAccessObjectId": "null-key", "keyAccessObject": ["type": "wrapped", "kid": "rsa:2048", "wrappedKey": NSNull()]],
                ], "policy": ["id": "policy", "body": Fixtures.vectors.policy]],
                ["keyAccessObjects": [["keyAccessObjectId": "kao-0", "keyAccessObject": ["type": "wrapped"]]], "policy": NSNull()],
            ],
        ] as [String: Any])
        let response = try ProtoJSON.decode(RewrapResponse.self, from: try await engine().rewrap(json: json))
        #expect(response.responses.map(\.policyId) == ["policy"])
        #expect(response.result(policyID: "policy", keyAccessObjectID: "null-kao")?.error
            == "invalid_argument: request error\nrpc error: code = InvalidArgument desc = key access object is nil")
        #expect(response.result(policyID: "policy", keyAccessObjectID: "null-key")?.error
            == "invalid_argument: request error\nrpc error: code = InvalidArgument desc = wrapped key is empty")
    }

    // MARK: The JSON response

    @Test func rsaClientResponseHasNoSessionKey() async throws {
        let bytes = try await engine().rewrap(json: try Self.json(Self.camelCaseBody()))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object.keys.sorted() == ["responses"])
        let policies = try #require(object["responses"] as? [[String: Any]])
        #expect(policies.count == 1)
        #expect(policies[0]["policyId"] as? String == "policy")
        let results = try #require(policies[0]["results"] as? [[String: Any]])
        #expect(results.count == 1)
        #expect(results[0].keys.sorted() == ["kasWrappedKey", "keyAccessObjectId", "metadata", "status"])
        #expect(results[0]["status"] as? String == "permit")
        #expect(results[0]["keyAccessObjectId"] as? String == "kao-0")
        let wrapped = try #require(results[0]["kasWrappedKey"] as? String)
        #expect(wrapped.count == 344, "RSA-2048 ciphertext, standard padded base64")
        #expect(Base64.decode(wrapped, options: .strictStandard)?.count == 256)
        let metadata = try #require(results[0]["metadata"] as? [String: Any])
        #expect((metadata["X-Required-Obligations"] as? [Any])?.isEmpty == true)

        let response = try ProtoJSON.decode(RewrapResponse.self, from: bytes)
        #expect(response.sessionPublicKey.isEmpty)
        #expect(Self.opensToVectorDEK(response))
    }

    @Test(arguments: ["client-secp256r1", "client-secp384r1", "client-secp521r1"])
    func ecClientResponseCarriesTheSessionKey(_ client: String) async throws {
        var body = Self.camelCaseBody()
        body["clientPublicKey"] = Fixtures.pem(client, "public")
        let bytes = try await engine().rewrap(json: try Self.json(body))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object.keys.sorted() == ["responses", "sessionPublicKey"])
        let session = try #require(object["sessionPublicKey"] as? String)
        #expect(session.hasPrefix("-----BEGIN PUBLIC KEY-----\n") && session.hasSuffix("-----END PUBLIC KEY-----\n"))
        let response = try ProtoJSON.decode(RewrapResponse.self, from: bytes)
        #expect(response.sessionPublicKey == session)
        #expect(response.result(policyID: "policy", keyAccessObjectID: "kao-0")?.kasWrappedKey?.count == 60)
        #expect(Self.opensToVectorDEK(response, client: client))
    }

    /// Results echo each KAO id verbatim, grouped by policy in request order, KAOs in request
    /// order; odd ids survive JSON escaping; error strings keep their newline.
    @Test func resultsEchoIdsInRequestOrder() async throws {
        let kaoObject = try #require(((Self.camelCaseBody()["requests"] as? [[String: Any]])?.first?["keyAccessObjects"]
            as? [[String: Any]])?.first?["keyAccessObject"])
        let oddID = "we\"ird\\id/\u{1}\t→é"
        let ids2 = ["zeta", "alpha", oddID, "kao-10", "kao-2"]
        let json = try Self.json([
            "clientPublicKey": Self.clientPEM,
            "requests": [
                ["keyAccessObjects": ids2.map { ["keyAccessObjectId": $0, "keyAccessObject": kaoObject] },
                 "policy": ["id": "p2", "body": Fixtures.vectors.policy]],
                ["keyAccessObjects": [["keyAccessObjectId": "only", "keyAccessObject": ["type": "nope", "wrappedKey": "AAAA"]]],
                 "policy": ["id": "p1 \"quoted\"", "body": Fixtures.vectors.policy]],
            ],
        ] as [String: Any])
        let bytes = try await engine().rewrap(json: json)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let policies = try #require(object["responses"] as? [[String: Any]])
        #expect(policies.map { $0["policyId"] as? String } == ["p2", "p1 \"quoted\""])
        let results2 = try #require(policies[0]["results"] as? [[String: Any]])
        #expect(results2.map { $0["keyAccessObjectId"] as? String } == ids2)
        #expect(results2.allSatisfy { $0["status"] as? String == "permit" })
        let results1 = try #require(policies[1]["results"] as? [[String: Any]])
        #expect(results1.first?["status"] as? String == "fail")
        #expect(results1.first?["error"] as? String
            == "invalid_argument: request error\nrpc error: code = InvalidArgument desc = unsupported key type")
        #expect(results1.first?["kasWrappedKey"] == nil)

        let response = try ProtoJSON.decode(RewrapResponse.self, from: bytes)
        #expect(response.responses.map(\.policyId) == ["p2", "p1 \"quoted\""])
        #expect(response.responses[0].results.map(\.keyAccessObjectId) == ids2)
        #expect(Self.opensToVectorDEK(RewrapResponse(responses: [.init(policyId: "policy", results: response.responses[0].results)]),
                                      kao: oddID))
    }
}
