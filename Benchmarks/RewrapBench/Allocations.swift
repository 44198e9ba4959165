import ArgumentParser
import Foundation
import RewrapCrypto

/// Where a KAO's allocations go: each OpenSSL step of the hot path counted alone, on warm reused
/// contexts as the engine's workers have them. The sum of a path's steps is OpenSSL's share of its
/// mallocs per KAO; the rest is the engine's own.
struct AllocationBreakdown {
    struct Step {
        var name: String
        var mallocs: Double
    }

    var kas: KeyAlgorithm
    /// The KAS key's unwrap (per KAO).
    var unwrap: [Step] = []
    var binding = Step(name: "binding: HMAC-SHA256", mallocs: 0)
    var rsaResponse = Step(name: "response, RSA client: RSA-OAEP encrypt", mallocs: 0)
    var ecResponse = Step(name: "response, EC client: AES-256-GCM seal", mallocs: 0)
    /// Per request, not per KAO.
    var ecSession = Step(name: "per request, EC client: session key generation + ECDH + HKDF", mallocs: 0)

    static let iterations = 200

    init(kas: KeyAlgorithm) throws {
        self.kas = kas
        let worker = CryptoWorker()
        let key = try PrivateKey.generate(kas)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 16)
        defer { output.deallocate() }
        func slice(_ range: Range<Int>) -> UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(rebasing: output[range]) }
        func count(_ name: String, _ body: () throws -> Void) throws -> Step {
            try body()  // warm: contexts are built on first use
            AllocationCounter.start()
            for _ in 0..<Self.iterations { try body() }
            return Step(name: name, mallocs: Double(AllocationCounter.stop()) / Double(Self.iterations))
        }
        let secret = try CryptoPrimitives.randomBytes(count: 32)
        let nonce = try CryptoPrimitives.randomBytes(count: CryptoWorker.gcmNonceByteCount)
        let sealedCount = 32 + CryptoWorker.gcmOverhead
        let curve: Curve
        if case .ec(let kasCurve) = kas { curve = kasCurve } else { curve = .p256 }
        let peer = try PrivateKey.generate(.ec(curve)).publicKey
        let point = try peer.ecPoint()
        let rsaClient = try PrivateKey.generate(.rsa2048).publicKey
        let wrapped = kas.isRSA ? try secret.withUnsafeBytes { (s) throws(CryptoError) in try worker.rsaOAEPEncrypt(s, to: key.publicKey) } : []
        try secret.withUnsafeBytes { secret in
            try nonce.withUnsafeBytes { nonce in
                try worker.aesGCMSeal(key: secret, nonce: nonce, plaintext: secret, into: slice(0..<sealedCount))
                let sealed = UnsafeRawBufferPointer(slice(0..<sealedCount))
                switch kas {
                case .rsa:
                    try wrapped.withUnsafeBytes { wrapped in
                        unwrap.append(try count("KAS: RSA-OAEP private decrypt (the ceiling primitive)") {
                            _ = try worker.rsaOAEPDecrypt(wrapped, with: key, into: slice(512..<1024))
                        })
                    }
                case .ec:
                    try point.withUnsafeBytes { point in
                        unwrap.append(try count("KAS: decode the KAO's ephemeral point + ECDH derive") {
                            try worker.ecdh(key, peerPoint: point, into: slice(512..<(512 + curve.coordinateByteCount)))
                        })
                    }
                    unwrap.append(try count("KAS: HKDF-SHA256 (two HMACs)") {
                        try worker.hkdfSHA256(inputKeyMaterial: secret, salt: secret, into: slice(512..<544))
                    })
                    unwrap.append(try count("KAS: AES-256-GCM open of the wrapped DEK") {
                        try worker.aesGCMOpen(key: secret, sealed: sealed, into: slice(512..<544))
                    })
                }
                binding = try count(binding.name) { try worker.hmacSHA256(key: secret, message: secret, into: slice(512..<544)) }
                rsaResponse = try count(rsaResponse.name) { _ = try worker.rsaOAEPEncrypt(secret, to: rsaClient) }
                ecResponse = try count(ecResponse.name) {
                    try worker.aesGCMSeal(key: secret, nonce: nonce, plaintext: secret, into: slice(512..<(512 + sealedCount)))
                }
                ecSession = try count(ecSession.name) {
                    let session = try worker.generateECKey(curve)
                    try worker.ecdh(session, peer: peer, into: slice(600..<(600 + curve.coordinateByteCount)))
                    try worker.hkdfSHA256(inputKeyMaterial: secret, salt: secret, into: slice(700..<732))
                }
            }
        }
    }

    /// OpenSSL's allocations per good KAO of a request of `batch` KAOs to a `client` key.
    func opensslPerKAO(client: KeyAlgorithm, batch: Int) -> Double {
        let kasSide = unwrap.reduce(0) { $0 + $1.mallocs } + binding.mallocs
        return kasSide + (client.isRSA ? rsaResponse.mallocs : ecResponse.mallocs + ecSession.mallocs / Double(max(batch, 1)))
    }

    var steps: [Step] { unwrap + [binding, rsaResponse, ecResponse, ecSession] }
}

struct Allocations: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count the allocations of each OpenSSL step of a KAO: OpenSSL's share of mallocs per KAO.",
        discussion: """
        Each step runs \(AllocationBreakdown.iterations) times on one thread after a warm-up, on the same \
        reused per-thread contexts the engine uses. A run's report subtracts these from each case's \
        mallocs/KAO to give the engine's own allocations.

        Example:
          swift run -c release rewrap-bench allocations --algorithm ec:secp256r1
        """)

    @Option(help: "KAS key algorithm.")
    var algorithm = "ec:secp256r1"

    func run() throws {
        guard let kas = KeyAlgorithm(algorithm) else { throw ValidationError("unknown --algorithm \(algorithm)") }
        guard AllocationCounter.isActive else { throw BenchError("allocation counting is not active in this process") }
        let breakdown = try AllocationBreakdown(kas: kas)
        print("allocation calls per step, \(kas) KAS key, \(Environment.allocator):")
        for step in breakdown.steps { print(String(format: "%8.1f  ", step.mallocs) + step.name) }
        for client in [KeyAlgorithm.rsa2048, .ec(.p256)] {
            print(String(format: "%8.1f  ", breakdown.opensslPerKAO(client: client, batch: 256))
                + "OpenSSL per KAO, \(client) client, batch 256")
        }
    }
}
