import RewrapAWSWire
import RewrapCrypto
import RewrapKMSSimulator
import RewrapWire
import Testing

/// The simulator's HSM model, driven through `handle` directly (no client).
@Suite struct HSMModelTests {
    /// Units, a bounded queue, and "HSM busy" when it is full.
    @Test func unitsQueueAndRefusal() async throws {
        var profile = SimulatorProfile.named("zero")!
        var hsm = SimulatorProfile.HSM(units: 2, queueDepth: 2)
        hsm.ecMilliseconds = 200
        profile.hsm = hsm
        let kms = SimulatedKMS(profile: profile)
        let keyID = kms.importKey(try PrivateKey.generate(.ecP256))
        let peer = try PrivateKey.generate(.ecP256).publicKey.spkiDER()
        let body = KMSWire.encode(KMSWire.DeriveSharedSecretRequest(KeyId: keyID, PublicKey: Base64.encode(peer)))
        let headers = [("X-Amz-Target", KMSWire.Operation.deriveSharedSecret.target)]
        // Six at once: two served, two queued, two refused as HSM busy.
        let statuses = await withTaskGroup(of: (Int, String).self) { group in
            for _ in 0..<6 {
                group.addTask {
                    let reply = await kms.handle(method: "POST", path: "/", headers: headers, body: body, newConnection: false)
                    return (reply.status, KMSWire.errorCode(body: reply.body, header: nil).code)
                }
            }
            var all: [(Int, String)] = []
            for await status in group { all.append(status) }
            return all
        }
        #expect(statuses.filter { $0.0 == 200 }.count == 4)
        #expect(statuses.filter { $0.1 == "ThrottlingException" }.count == 2)
        #expect(kms.counters.throttled == 2)
    }
}
