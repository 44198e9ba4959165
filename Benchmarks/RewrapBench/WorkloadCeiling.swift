import Dispatch
import Foundation
import RewrapCrypto
import Synchronization

/// The rate a case's necessary cryptography allows (issue #11), so its efficiency is judged
/// against all the work a KAO needs rather than one primitive: a batch-1 EC→EC request needs
/// three scalar multiplications, so ÷ one ECDH it could never pass 0.33.
///
/// Per KAO: the unwrap (RSA-OAEP private decrypt; or ECDH + HKDF + AES-GCM open), the policy
/// binding's HMAC-SHA256, the rewrap to the client (RSA-OAEP encrypt; or AES-GCM seal); per
/// request, for an EC client, the session key's generation + ECDH + HKDF, divided by the batch.
/// Each step's rate is measured in the same repetition on the same number of threads — the
/// dominant ones (RSA decrypt, ECDH) raw, as `PrimitiveCeiling` measures them; the others through
/// `CryptoWorker`, the calls the engine makes, one worker per thread — and the ceiling is
/// 1 ÷ Σ (uses per KAO ÷ rate).
enum WorkloadCeiling {
    enum Step: Hashable, Sendable, CustomStringConvertible {
        case hmac
        case hkdf
        case gcmSeal
        case gcmOpen
        case ecKeyGeneration(Curve)
        case rsaEncrypt(bits: Int)

        var description: String {
            switch self {
            case .hmac: "HMAC-SHA256 (256 B)"
            case .hkdf: "HKDF-SHA256"
            case .gcmSeal: "AES-256-GCM seal (32 B)"
            case .gcmOpen: "AES-256-GCM open (32 B)"
            case .ecKeyGeneration(let curve): "EC key generation \(curve.rawValue)"
            case .rsaEncrypt(let bits): "RSA-\(bits) OAEP public encrypt"
            }
        }
    }

    /// The steps the cases of (KAS algorithms × client algorithms) need besides `PrimitiveCeiling`'s.
    static func steps(clients: [KeyAlgorithm]) -> [Step] {
        var steps: [Step] = [.hmac, .hkdf, .gcmSeal, .gcmOpen]
        for client in clients {
            switch client {
            case .ec(let curve): if !steps.contains(.ecKeyGeneration(curve)) { steps.append(.ecKeyGeneration(curve)) }
            case .rsa(let bits): if !steps.contains(.rsaEncrypt(bits: bits)) { steps.append(.rsaEncrypt(bits: bits)) }
            }
        }
        return steps
    }

    /// KAO/s the work allows: `primitive(a)` is the raw rate of a's dominant primitive (RSA
    /// decrypt for RSA, ECDH for EC), `rate(step)` the others', all on the case's thread count.
    static func kaoPerSecond(kas: KeyAlgorithm, client: KeyAlgorithm, batch: Int, primitive: (KeyAlgorithm) -> Double?,
                             rate: (Step) -> Double?) -> Double? {
        func cost(_ value: Double?) -> Double? { value.flatMap { $0 > 0 ? 1 / $0 : nil } }
        guard let unwrap = cost(primitive(kas)), let hmac = cost(rate(.hmac)) else { return nil }
        var seconds = unwrap + hmac
        if case .ec = kas {
            guard let hkdf = cost(rate(.hkdf)), let open = cost(rate(.gcmOpen)) else { return nil }
            seconds += hkdf + open
        }
        switch client {
        case .rsa(let bits):
            guard let encrypt = cost(rate(.rsaEncrypt(bits: bits))) else { return nil }
            seconds += encrypt
        case .ec(let curve):
            guard let seal = cost(rate(.gcmSeal)), let keygen = cost(rate(.ecKeyGeneration(curve))),
                  let ecdh = cost(primitive(.ec(curve))), let hkdf = cost(rate(.hkdf)) else { return nil }
            seconds += seal + (keygen + ecdh + hkdf) / Double(max(batch, 1))
        }
        return 1 / seconds
    }

    /// Operations per second of `step` summed over `threads` threads running together for `duration`.
    static func measure(_ step: Step, threads: Int, duration: Double) throws -> Double {
        let inputs = try Inputs(step)
        let rates = Mutex<[Double]>([])
        let ready = Atomic<Int>(0)
        let failed = Atomic<Bool>(false)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            let worker = CryptoWorker()
            guard let operation = inputs.operation(worker) else {
                failed.store(true, ordering: .relaxed)
                ready.wrappingAdd(1, ordering: .acquiringAndReleasing)
                return
            }
            let warmEnd = DispatchTime.now().uptimeNanoseconds + 50_000_000
            while DispatchTime.now().uptimeNanoseconds < warmEnd { _ = operation() }
            ready.wrappingAdd(1, ordering: .acquiringAndReleasing)
            while ready.load(ordering: .acquiring) < threads { sched_yield() }
            let start = DispatchTime.now().uptimeNanoseconds
            let end = start + UInt64(duration * 1e9)
            var count = 0
            var now = start
            while now < end {
                for _ in 0..<8 where !operation() { failed.store(true, ordering: .relaxed) }
                count += 8
                now = DispatchTime.now().uptimeNanoseconds
            }
            rates.withLock { $0.append(Double(count) / (Double(now - start) / 1e9)) }
        }
        guard !failed.load(ordering: .relaxed) else { throw BenchError("the \(step) ceiling could not run") }
        return rates.withLock { $0.reduce(0, +) }
    }

    /// Shared, read-only inputs of a step; each thread runs it on its own worker and buffers.
    private final class Inputs: Sendable {
        let step: Step
        let key = [UInt8](repeating: 0x4b, count: 32)
        let message = [UInt8](repeating: 0x6d, count: 256)
        let sealed: [UInt8]
        let rsa: PublicKey?

        init(_ step: Step) throws {
            self.step = step
            let worker = CryptoWorker()
            var out = [UInt8](repeating: 0, count: 32 + CryptoWorker.gcmOverhead)
            let nonce = [UInt8](repeating: 0x6e, count: 12)
            let (key, message) = (self.key, self.message)
            try key.withUnsafeBytes { k in
                try nonce.withUnsafeBytes { n in
                    try message.withUnsafeBytes { m in
                        try out.withUnsafeMutableBytes { o in
                            try worker.aesGCMSeal(key: k, nonce: n, plaintext: UnsafeRawBufferPointer(rebasing: m[0..<32]), into: o)
                        }
                    }
                }
            }
            sealed = out
            if case .rsaEncrypt(let bits) = step { rsa = try PrivateKey.generate(.rsa(bits: bits)).publicKey } else { rsa = nil }
        }

        /// One operation on `worker` (true when it succeeded); nil if it cannot be set up.
        func operation(_ worker: CryptoWorker) -> (() -> Bool)? {
            let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024, alignment: 16)
            let (key, message, sealed) = (self.key, self.message, self.sealed)
            let nonce = [UInt8](repeating: 0x6e, count: 12)
            // The buffer lives as long as the closure (one per measuring thread, for the run).
            let keep = Holder(output)
            switch step {
            case .hmac:
                return {
                    _ = keep
                    return (try? key.withUnsafeBytes { k in
                        try message.withUnsafeBytes { m in
                            try worker.hmacSHA256(key: k, message: m, into: UnsafeMutableRawBufferPointer(rebasing: output[0..<32]))
                        }
                    }) != nil
                }
            case .hkdf:
                return {
                    _ = keep
                    return (try? key.withUnsafeBytes { k in
                        try message.withUnsafeBytes { m in
                            try worker.hkdfSHA256(inputKeyMaterial: k, salt: UnsafeRawBufferPointer(rebasing: m[0..<32]),
                                                  into: UnsafeMutableRawBufferPointer(rebasing: output[0..<32]))
                        }
                    }) != nil
                }
            case .gcmSeal:
                return {
                    _ = keep
                    return (try? key.withUnsafeBytes { k in
                        try nonce.withUnsafeBytes { n in
                            try message.withUnsafeBytes { m in
                                try worker.aesGCMSeal(key: k, nonce: n, plaintext: UnsafeRawBufferPointer(rebasing: m[0..<32]),
                                                      into: UnsafeMutableRawBufferPointer(rebasing: output[0..<(32 + CryptoWorker.gcmOverhead)]))
                            }
                        }
                    }) != nil
                }
            case .gcmOpen:
                return {
                    _ = keep
                    return (try? key.withUnsafeBytes { k in
                        try sealed.withUnsafeBytes { s in
                            try worker.aesGCMOpen(key: k, sealed: s, into: UnsafeMutableRawBufferPointer(rebasing: output[0..<32]))
                        }
                    }) != nil
                }
            case .ecKeyGeneration(let curve):
                return {
                    _ = keep
                    return (try? worker.generateECKey(curve)) != nil
                }
            case .rsaEncrypt:
                guard let rsa else { return nil }
                return {
                    _ = keep
                    return (try? key.withUnsafeBytes { k in try worker.rsaOAEPEncrypt(k, to: rsa) }) != nil
                }
            }
        }
    }

    /// Frees a measuring thread's buffer when its operation is released.
    private final class Holder {
        let buffer: UnsafeMutableRawBufferPointer
        init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
        deinit { buffer.deallocate() }
    }
}
