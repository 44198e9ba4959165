import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RewrapAWSWire
import RewrapCrypto
@testable import RewrapKMS
import RewrapKMSSimulator
import RewrapWire
import Testing

/// The simulator on a loopback socket and the client over AsyncHTTPClient: the real wire.
@Suite(.serialized) struct KMSHTTPTests {
    static let credentials = SigV4.Credentials(accessKeyID: "AKIDHTTP", secretAccessKey: "http-secret")

    func withServer(_ profile: SimulatorProfile, policy: KMSRetryPolicy = KMSFaultTests.fast(),
                    _ body: (SimulatedKMS, KMSClient, Int) async throws -> Void) async throws {
        let simulator = SimulatedKMS(profile: profile, credentials: Self.credentials)
        let server = try await KMSSimulatorServer.start(simulator: simulator)
        let transport = HTTPKMSTransport(endpoint: URL(string: "http://127.0.0.1:\(server.port)")!, maxConnections: 8)
        let client = KMSClient(transport: transport, host: "127.0.0.1:\(server.port)", region: "us-east-1",
                               credentials: Self.credentials, policy: policy)
        do {
            try await body(simulator, client, server.port)
        } catch {
            try? await transport.shutdown()
            await server.shutdown()
            throw error
        }
        try await transport.shutdown()
        await server.shutdown()
    }

    @Test func signedRequestsOverHTTP() async throws {
        var patient = KMSRetryPolicy()
        patient.perAttemptTimeout = .seconds(30)  // CreateKey generates an RSA key
        patient.deadline = .seconds(60)
        try await withServer(.named("zero")!, policy: patient) { simulator, client, port in
            let metadata = try await client.createKey(spec: .rsa2048, usage: .encryptDecrypt)
            let der = try #require(Base64.decode(try await client.getPublicKey(keyID: metadata.KeyId).PublicKey, options: .protoJSON))
            let publicKey = try withBytes(der) { (d) throws(CryptoError) in try PublicKey(spkiDER: d) }
            for _ in 0..<20 {
                let dek = try CryptoPrimitives.randomBytes(count: 32)
                let ciphertext = try withBytes(dek) { (p) throws(CryptoError) in try CryptoWorker().rsaOAEPEncrypt(p, to: publicKey) }
                #expect(try await client.decrypt(keyID: metadata.KeyId, ciphertext: ciphertext).copyBytes() == dek)
            }
            #expect(simulator.counters.requests["Decrypt"] == 20)
            // The admin endpoint serves the counters.
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/admin/counters")!)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            let counters = try JSONDecoder().decode(SimulatedKMS.Counters.self, from: data)
            #expect(counters.requests["Decrypt"] == 20)
        }
    }

    @Test(arguments: [("reset", SimulatorProfile.Faults(connectionReset: 1)), ("hang", SimulatorProfile.Faults(hang: 1))])
    func connectionFaultsOverHTTP(name: String, faults: SimulatorProfile.Faults) async throws {
        let profile = SimulatorProfile(latency: .zero, quotas: .unlimited, faults: faults, newConnectionMilliseconds: 0)
        try await withServer(profile) { simulator, client, _ in
            let keyID = simulator.importKey(try PrivateKey.generate(.ecP256))
            let peer = try PrivateKey.generate(.ecP256).publicKey.spkiDER()
            await #expect(throws: KMSError.self, "\(name)") { _ = try await client.deriveSharedSecret(keyID: keyID, peerSPKI: peer) }
            #expect(client.statistics.attempts == 3, "\(name)")
        }
    }
}
