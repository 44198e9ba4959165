internal import COpenSSL
import Dispatch
import Foundation
import Synchronization

/// The raw OpenSSL rate of the primitive that dominates a KAO, measured in a tight loop in the
/// same process as the engine: the ceiling an engine's efficiency is judged against.
/// RSA: OAEP-SHA1 private decrypt of one fixed ciphertext on a reused context (the CRT private
/// op `openssl speed rsa2048` times as a sign). ECDH: `EVP_PKEY_derive` with one fixed peer on
/// a reused context (what `openssl speed ecdhp256` times).
package enum PrimitiveCeiling {
    package enum Primitive: Sendable, CustomStringConvertible {
        case rsaPrivateDecrypt(bits: Int)
        case ecdhDerive(Curve)

        package var description: String {
            switch self {
            case .rsaPrivateDecrypt(let bits): return "RSA-\(bits) OAEP private decrypt"
            case .ecdhDerive(let curve): return "ECDH derive \(curve.rawValue)"
            }
        }
    }

    /// The primitive behind a KAS key algorithm.
    package static func primitive(for algorithm: KeyAlgorithm) -> Primitive {
        switch algorithm {
        case .rsa(let bits): return .rsaPrivateDecrypt(bits: bits)
        case .ec(let curve): return .ecdhDerive(curve)
        }
    }

    /// Operations per second summed over `threads` threads, each running for `duration` after
    /// `warmUp`, all starting together.
    package static func measure(_ primitive: Primitive, threads: Int, duration: Double, warmUp: Double = 0.2) throws(CryptoError) -> Double {
        let loop = try Loop(primitive)
        let rates = Mutex<[Double]>([])
        let ready = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            let rate = loop.run(threads: threads, ready: ready, duration: duration, warmUp: warmUp)
            rates.withLock { $0.append(rate) }
        }
        return rates.withLock { $0.reduce(0, +) }
    }

    /// Runs the primitive `iterations` times on this thread, with its context built and warmed
    /// first, inside `around` (the harness counts what the operations alone allocate).
    package static func perform(_ primitive: Primitive, iterations: Int, around: (() -> Void) -> Void) throws(CryptoError) {
        let loop = try Loop(primitive)
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, loop.key.pkey, nil) else { throw .openSSLFailure("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        let output = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1024)
        defer { output.deallocate() }
        guard let op = loop.operation(ctx: ctx, output: output), op() else { throw .openSSLFailure("\(primitive)") }
        var ok = true
        around {
            for _ in 0..<iterations { ok = op() && ok }
        }
        guard ok else { throw .openSSLFailure("\(primitive)") }
    }

    /// Shared, read-only inputs; each thread builds its own contexts.
    private final class Loop: Sendable {
        let primitive: Primitive
        let key: PrivateKey
        let peer: PublicKey?
        let ciphertext: [UInt8]

        init(_ primitive: Primitive) throws(CryptoError) {
            self.primitive = primitive
            switch primitive {
            case .rsaPrivateDecrypt(let bits):
                key = try PrivateKey.generate(.rsa(bits: bits))
                // As the engine's keys are: no measuring thread owns the key's RSA blinding.
                key.warmUp()
                let message = [UInt8](repeating: 0x42, count: 32)
                let publicKey = key.publicKey
                ciphertext = try withBytes(message) { (bytes) throws(CryptoError) in
                    try CryptoWorker().rsaOAEPEncrypt(bytes, to: publicKey)
                }
                peer = nil
            case .ecdhDerive(let curve):
                key = try PrivateKey.generate(.ec(curve))
                peer = try PrivateKey.generate(.ec(curve)).publicKey
                ciphertext = []
            }
        }

        /// One operation on `ctx`, writing into `output`; nil when the context cannot be set up.
        func operation(ctx: OpaquePointer, output: UnsafeMutableBufferPointer<UInt8>) -> (() -> Bool)? {
            switch primitive {
            case .rsaPrivateDecrypt:
                let sha1 = Algorithms.shared.sha1
                guard EVP_PKEY_decrypt_init(ctx) == 1,
                      EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1,
                      EVP_PKEY_CTX_set_rsa_oaep_md(ctx, sha1) == 1,
                      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, sha1) == 1
                else { return nil }
                return { [ciphertext] in
                    var length = output.count
                    return ciphertext.withUnsafeBufferPointer { input in
                        EVP_PKEY_decrypt(ctx, output.baseAddress, &length, input.baseAddress, input.count) == 1
                    } && length == 32
                }
            case .ecdhDerive(let curve):
                guard let peer, EVP_PKEY_derive_init(ctx) == 1, EVP_PKEY_derive_set_peer_ex(ctx, peer.pkey, 0) == 1 else {
                    return nil
                }
                return {
                    var length = curve.coordinateByteCount
                    return EVP_PKEY_derive(ctx, output.baseAddress, &length) == 1
                }
            }
        }

        /// One thread: build the context, warm up, wait for all threads, run, return ops/s.
        func run(threads: Int, ready: borrowing Atomic<Int>, duration: Double, warmUp: Double) -> Double {
            // All threads share one key, as the engine's workers do.
            guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, key.pkey, nil) else { return 0 }
            defer { EVP_PKEY_CTX_free(ctx) }
            let output = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 1024)
            defer { output.deallocate() }
            guard let op = operation(ctx: ctx, output: output) else { return 0 }
            let warmUpEnd = DispatchTime.now().uptimeNanoseconds + UInt64(warmUp * 1e9)
            while DispatchTime.now().uptimeNanoseconds < warmUpEnd { _ = op() }
            // Start barrier: every thread has warmed up before any starts counting.
            ready.wrappingAdd(1, ordering: .acquiringAndReleasing)
            while ready.load(ordering: .acquiring) < threads { sched_yield() }
            let start = DispatchTime.now().uptimeNanoseconds
            let end = start + UInt64(duration * 1e9)
            var operations = 0
            var now = start
            while now < end {
                for _ in 0..<4 {
                    if !op() { return 0 }
                }
                operations += 4
                now = DispatchTime.now().uptimeNanoseconds
            }
            return Double(operations) / (Double(now - start) / 1e9)
        }
    }
}
