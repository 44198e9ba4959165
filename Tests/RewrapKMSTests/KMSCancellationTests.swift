import Foundation
import RewrapAsync
import RewrapAWSWire
import RewrapCrypto
import RewrapEngine
@testable import RewrapKMS
import RewrapKMSSimulator
import RewrapWire
import Synchronization
import RewrapTestSupport
import Testing

/// A cancelled KMS call gives up at once: it neither spins in the rate limiter nor waits for an
/// in-flight slot it will never use.
@Suite struct KMSCancellationTests {
    /// After a throttle the limiter allows one request per 100 s and holds no token, so an
    /// acquire must wait: cancelled, it must throw at once instead (it used to loop with a
    /// `try?`-swallowed sleep until the token came, 100 s later). The 30 s bound leaves room for
    /// a machine loaded by the rest of the suite (7.5 s was seen once with a 5 s bound).
    @Test func cancelledRateLimiterAcquireThrowsPromptly() async throws {
        let limiter = AdaptiveRateLimiter(minimumRate: 0.01)
        limiter.recordThrottle(generation: 0)
        #expect(limiter.currentRate == 0.01)
        let start = ContinuousClock.now
        let task = Task { try await limiter.acquire() }
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - start < .seconds(30), "a cancelled acquire returns long before its token")
        #expect(throws: CancellationError.self) { _ = try result.get() }
    }

    /// A KMS call waiting for the client's only in-flight slot is cancelled: it gives up at
    /// once with `KMSError.cancelled` (it used to wait for the slot, then send anyway), and it
    /// never reaches the transport.
    @Test func cancelledCallWaitingForASlotGivesUpAtOnce() async throws {
        let transport = HeldTransport()
        let client = KMSClient(transport: transport, host: "kms", region: "us-east-1",
                               credentials: .init(accessKeyID: "a", secretAccessKey: "b"), maxInFlight: 1)
        let holder = Task { try await client.decrypt(keyID: "k", ciphertext: [1]) }
        await transport.entered.wait()
        let waiter = Task { try await client.decrypt(keyID: "k", ciphertext: [2]) }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        let start = ContinuousClock.now
        let outcome = await waiter.result
        #expect(ContinuousClock.now - start < .seconds(5), "it did not wait for the held slot")
        #expect(throws: KMSError.cancelled) { _ = try outcome.get() }
        await transport.release.open()
        #expect(try await holder.value.copyBytes() == [7])
        #expect(transport.sends.withLock { $0 } == 1, "the cancelled call never sent")
        #expect(KMSRemoteKey.map(.cancelled) == .unavailable("KMS call cancelled"), "a KAO sees key service trouble")
    }

    /// A waiter for the single slot is cancelled: it returns at once, and when the holder
    /// releases, the slot is free for the next caller (the cancelled waiter did not take it).
    @Test func cancelledSemaphoreWaiterIsRemoved() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        try await semaphore.acquire()
        let ran = LockedBox(false)
        let waiter = Task {
            try await semaphore.acquire()
            ran.withLock { $0 = true }
            semaphore.release()
        }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        let finished = await finishes(within: .seconds(5)) { _ = await waiter.result }
        #expect(finished, "a cancelled waiter leaves the queue at once")
        semaphore.release()
        let next = await finishes(within: .seconds(5)) {
            try? await semaphore.acquire()
            semaphore.release()
        }
        #expect(next, "the slot is free again")
        _ = await waiter.result
        #expect(!ran.withLock { $0 }, "the cancelled waiter never ran in a slot")
    }
}

/// A transport whose first request is held until `release` opens; it answers a Decrypt.
final class HeldTransport: KMSTransport {
    let entered = Gate()
    let release = Gate()
    let sends = Mutex(0)

    func send(_ request: KMSHTTPRequest) async throws(KMSTransportError) -> KMSHTTPResponse {
        sends.withLock { $0 += 1 }
        await entered.open()
        await release.wait()
        let body = KMSWire.encode(KMSWire.DecryptResponse(KeyId: "k", Plaintext: Base64.encode([7]), EncryptionAlgorithm: "RSAES_OAEP_SHA_1"))
        return KMSHTTPResponse(status: 200, headers: [], body: body)
    }
}

/// Runs `body` and says whether it finished within `limit`; a body still running then is left
/// to finish on its own (a task group would wait for it).
func finishes(within limit: Duration, _ body: @escaping @Sendable () async -> Void) async -> Bool {
    let outcome = FirstOutcome()
    return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
        outcome.install(continuation)
        Task { await body(); outcome.resolve(true) }
        Task { try? await Task.sleep(for: limit); outcome.resolve(false) }
    }
}

/// The first of two racing outcomes, delivered once.
final class FirstOutcome: Sendable {
    private let continuation = Mutex<CheckedContinuation<Bool, Never>?>(nil)
    func install(_ continuation: CheckedContinuation<Bool, Never>) { self.continuation.withLock { $0 = continuation } }
    func resolve(_ value: Bool) {
        let pending = continuation.withLock { pending in
            defer { pending = nil }
            return pending
        }
        pending?.resume(returning: value)
    }
}

/// A one-shot signal between tasks.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }
}
