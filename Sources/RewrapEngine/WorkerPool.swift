import Dispatch
import Foundation
import RewrapCrypto
import Synchronization

/// Per-thread state of the engine: OpenSSL contexts plus scratch buffers, so a KAO allocates
/// nothing on the unwrap path. Used by one thread at a time (the pool hands it out).
final class EngineWorker {
    let crypto = CryptoWorker()
    /// Public scratch: decoded ephemeral-key DER, decoded binding hash.
    let scratch: UnsafeMutableRawBufferPointer
    /// Secret scratch: ECDH shared secret, derived wrap key, binding HMAC; wiped after each use.
    let secrets = SecureBytes(count: 160)

    static let scratchByteCount = 16 * 1024

    init() {
        scratch = .allocate(byteCount: Self.scratchByteCount, alignment: 16)
    }

    deinit { scratch.deallocate() }

    var sharedSecret: UnsafeMutableRawBufferPointer { secrets.slice(0..<66) }
    var wrapKey: UnsafeMutableRawBufferPointer { secrets.slice(80..<112) }
    var bindingMAC: UnsafeMutableRawBufferPointer { secrets.slice(112..<144) }
}

/// Idle workers, handed to whichever thread runs a batch slice. Contexts survive across
/// requests, which is the point: they are built once per thread, not per request.
final class WorkerPool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [EngineWorker] = []

    func withWorker<R>(_ body: (EngineWorker) throws -> R) rethrows -> R {
        let worker = lock.withLock { idle.popLast() } ?? EngineWorker()
        defer { lock.withLock { idle.append(worker) } }
        return try body(worker)
    }

    /// Runs `body(worker, index)` for every index in `0..<count` on up to `width` threads
    /// (Dispatch's `concurrentPerform`, one worker per thread, indices handed out one at a time
    /// so RSA and EC KAOs of different cost balance). With one index or one thread it runs
    /// inline on the caller: a 1-KAO request pays no parallelism overhead.
    func forEach(count: Int, width: Int, _ body: @Sendable (EngineWorker, Int) -> Void) {
        guard count > 0 else { return }
        let threads = Swift.min(width, count)
        if threads <= 1 {
            withWorker { worker in
                for index in 0..<count { body(worker, index) }
            }
            return
        }
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            self.withWorker { worker in
                while true {
                    let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard index < count else { return }
                    body(worker, index)
                }
            }
        }
    }
}
