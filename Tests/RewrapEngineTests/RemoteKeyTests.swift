import Foundation
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapTestSupport
import RewrapWire
import Testing

/// A source mixing a local key and remote keys.
struct MixedSource: KeySource {
    let local: KASKey
    let remote: [String: FakeRemoteKey]
    func resolve(kid: String) -> KeyResolution? {
        if kid == local.kid { return .local(local) }
        return remote[kid].map { .remote($0) }
    }
    func legacyKeys() -> [KASKey] { [] }
}

@Suite struct RemoteKeyTests {
    static let client = Fixtures.privateKey("client-secp256r1")

    /// RSA and EC remote keys mixed with a local key in one request: every DEK comes back, and
    /// the remote calls ran concurrently up to the bound.
    @Test(arguments: [1, 8, 32])
    func remoteUnwrapsAreConcurrentAndBounded(bound: Int) async throws {
        let rsa = FakeRemoteKey(kid: "kms-rsa", key: Fixtures.privateKey("kas-rsa2048"))
        let ec = FakeRemoteKey(kid: "kms-ec", key: Fixtures.privateKey("kas-secp384r1"))
        let local = KASKey(kid: "local", privateKey: Fixtures.privateKey("kas-secp256r1"))
        let source = MixedSource(local: local, remote: ["kms-rsa": rsa, "kms-ec": ec])
        var kaos: [KeyAccess] = []
        var deks: [[UInt8]] = []
        let writer = TDFWriter()
        for index in 0..<48 {
            let (kid, publicKey): (String, PublicKey) = switch index % 3 {
            case 0: ("kms-rsa", Fixtures.publicKey("kas-rsa2048"))
            case 1: ("kms-ec", Fixtures.publicKey("kas-secp384r1"))
            default: ("local", Fixtures.publicKey("kas-secp256r1"))
            }
            let dek = try TDFWriter.makeDEK()
            kaos.append(try writer.keyAccess(dek: dek, policyBase64: Fixtures.vectors.policy, kas: .init(kid: kid, key: publicKey)))
            deks.append(dek.copyBytes())
        }
        let engine = engine(source) { $0.maxRemoteConcurrency = bound }
        let response = try await engine.rewrap(makeRequest(client: try Self.client.publicKey.pem(), kaos: kaos))
        for index in kaos.indices {
            let dek = try writer.unwrap(response, policyID: "policy", keyAccessObjectID: "kao-\(index)", clientPrivateKey: Self.client)
            #expect(dek.copyBytes() == deks[index], "KAO \(index)")
        }
        #expect(rsa.calls == 16 && ec.calls == 16)
        let observed = max(rsa.maxInFlight, ec.maxInFlight)
        #expect(rsa.maxInFlight + ec.maxInFlight <= bound * 2)
        #expect(observed <= bound)
        if bound > 1 { #expect(observed > 1, "remote calls overlapped") }
    }

    @Test func remoteFailuresMapToPerKAOErrors() async throws {
        let kasKey = Fixtures.privateKey("kas-secp256r1")
        let local = KASKey(kid: "local", privateKey: kasKey)
        let down = FakeRemoteKey(kid: "down", key: kasKey, failure: .unavailable("throttled"))
        let refusing = FakeRemoteKey(kid: "refusing", key: kasKey, failure: .rejected)
        let source = MixedSource(local: local, remote: ["down": down, "refusing": refusing])
        let writer = TDFWriter()
        let kaos = try ["down", "refusing", "local"].map { kid in
            try writer.keyAccess(dek: TDFWriter.makeDEK(), policyBase64: Fixtures.vectors.policy,
                                 kas: .init(kid: kid, key: kasKey.publicKey))
        }
        let response = try await engine(source).rewrap(makeRequest(client: try Self.client.publicKey.pem(), kaos: kaos))
        #expect(response.result(policyID: "policy", keyAccessObjectID: "kao-0")?.error
                == "internal: internal error\nrpc error: code = Internal desc = key service unavailable")
        #expect(response.result(policyID: "policy", keyAccessObjectID: "kao-1")?.error
                == "invalid_argument: request error\nrpc error: code = InvalidArgument desc = bad request")
        #expect(response.result(policyID: "policy", keyAccessObjectID: "kao-2")?.status == "permit")
    }

    /// A tampered binding on a remote KAO fails like a local one: the DEK is checked after the call.
    @Test func remoteKAOsAreBindingChecked() async throws {
        let kasKey = Fixtures.privateKey("kas-rsa2048")
        let remote = FakeRemoteKey(kid: "kms", key: kasKey)
        let source = MixedSource(local: KASKey(kid: "local", privateKey: Fixtures.privateKey("kas-secp256r1")), remote: ["kms": remote])
        var kao = try TDFWriter().keyAccess(dek: TDFWriter.makeDEK(), policyBase64: Fixtures.vectors.policy,
                                            kas: .init(kid: "kms", key: kasKey.publicKey))
        kao.policyBinding = PolicyBinding(hash: Base64.encode(Array(String(repeating: "0", count: 64).utf8)))
        let response = try await engine(source).rewrap(makeRequest(client: try Self.client.publicKey.pem(), kaos: [kao]))
        #expect(response.result(policyID: "policy", keyAccessObjectID: "kao-0")?.error
                == "invalid_argument: request error\nrpc error: code = InvalidArgument desc = bad request")
        #expect(remote.calls == 1)
    }
}

/// Counts resolutions of the local key and holds local KAOs from the `gateAfter`-th on until the
/// remote call has started (at most `patience`). An engine that issued remote calls only after
/// its local work would leave them waiting out the patience, so the test does not hang on timing:
/// a correct engine releases them at once however loaded the machine is.
// @unchecked Sendable: `remoteStarted` and `gaveUp` are read and written only while holding
// `condition` (an NSCondition, so threads can wait on it); everything else is immutable.
final class OverlapProbe: KeySource, @unchecked Sendable {
    let local: KASKey
    let remote: FakeRemoteKey
    let localResolves = Counter()
    private let gateAfter: Int
    private let patience: TimeInterval
    private let condition = NSCondition()
    private var remoteStarted = false
    private var gaveUp = false

    init(local: KASKey, remote: FakeRemoteKey, gateAfter: Int, patience: TimeInterval = 20) {
        self.local = local
        self.remote = remote
        self.gateAfter = gateAfter
        self.patience = patience
        remote.onCall = { [weak self] in self?.remoteCallStarted() ?? -1 }
    }

    /// True when some local KAO waited out the patience for the remote call.
    var remoteCallWasLate: Bool { condition.withLock { gaveUp } }

    func resolve(kid: String) -> KeyResolution? {
        guard kid == local.kid else { return .remote(remote) }
        if localResolves.increment() > gateAfter { waitForRemoteCall() }
        return .local(local)
    }

    func legacyKeys() -> [KASKey] { [] }

    private func remoteCallStarted() -> Int {
        condition.withLock {
            remoteStarted = true
            condition.broadcast()
        }
        return localResolves.value
    }

    private func waitForRemoteCall() {
        let deadline = Date(timeIntervalSinceNow: patience)
        condition.withLock {
            while !remoteStarted && !gaveUp {
                if !condition.wait(until: deadline) { gaveUp = true }
            }
        }
    }
}

@Suite struct RemoteOverlapTests {
    /// The remote call of a request starts while its local, CPU-bound KAOs are still being
    /// unwrapped, not after them.
    @Test func remoteCallsOverlapLocalWork() async throws {
        let remoteKey = Fixtures.privateKey("kas-secp256r1")
        let remote = FakeRemoteKey(kid: "kms", key: remoteKey, delay: .milliseconds(50))
        let localKey = Fixtures.privateKey("kas-rsa2048")
        let probe = OverlapProbe(local: KASKey(kid: "local", privateKey: localKey), remote: remote, gateAfter: 8)
        let writer = TDFWriter()
        var kaos = [try writer.keyAccess(dek: TDFWriter.makeDEK(), policyBase64: Fixtures.vectors.policy,
                                         kas: .init(kid: "kms", key: remoteKey.publicKey))]
        for _ in 0..<64 {
            kaos.append(try writer.keyAccess(dek: TDFWriter.makeDEK(), policyBase64: Fixtures.vectors.policy,
                                             kas: .init(kid: "local", key: localKey.publicKey)))
        }
        let client = Fixtures.privateKey("client-secp256r1")
        let response = try await engine(probe) { $0.maxConcurrency = 2 }.rewrap(makeRequest(client: try client.publicKey.pem(), kaos: kaos))
        #expect(response.responses[0].results.allSatisfy { $0.status == "permit" })
        #expect(!probe.remoteCallWasLate, "local KAOs waited for a remote call that never started")
        let seen = try #require(remote.localResolvesAtFirstCall)
        #expect(seen < 64, "the remote call began after \(seen) of 64 local KAOs")
    }
}
