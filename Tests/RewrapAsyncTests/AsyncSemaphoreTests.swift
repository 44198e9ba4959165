import Foundation
import RewrapAsync
import Synchronization
import RewrapTestSupport
import Testing

/// The one async semaphore (KMS client in-flight slots, simulator HSM units): FIFO, bounded
/// queue, and cancelled waiters that leave at once and never take a permit.
@Suite struct AsyncSemaphoreTests {
    @Test func permitsAreHandedOutFirstInFirstOut() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        try await semaphore.acquire()
        let order = LockedBox<[Int]>([])
        var tasks: [Task<Void, any Error>] = []
        for index in 0..<5 {
            tasks.append(Task {
                try await semaphore.acquire()
                order.withLock { $0.append(index) }
                semaphore.release()
            })
            // Each waiter is queued before the next starts.
            try await waitUntil { semaphore.waiting == index + 1 }
        }
        semaphore.release()
        for task in tasks { try await task.value }
        #expect(order.withLock { $0 } == [0, 1, 2, 3, 4])
        #expect(semaphore.availablePermits == 1)
    }

    @Test func aFullQueueIsRefusedAtOnce() async throws {
        let semaphore = AsyncSemaphore(permits: 2, maxWaiters: 1)
        try await semaphore.acquire()
        try await semaphore.acquire()
        let queued = Task { try await semaphore.acquire() }
        try await waitUntil { semaphore.waiting == 1 }
        await #expect(throws: AsyncSemaphore.AcquireError.queueFull) { try await semaphore.acquire() }
        semaphore.release()
        try await queued.value
        #expect(semaphore.availablePermits == 0, "the queued waiter holds the released permit")
        semaphore.release()
        semaphore.release()
        #expect(semaphore.availablePermits == 2)
        let noQueue = AsyncSemaphore(permits: 1, maxWaiters: 0)
        try await noQueue.acquire()
        await #expect(throws: AsyncSemaphore.AcquireError.queueFull, "no queue: refused while the permit is held") {
            try await noQueue.acquire()
        }
    }

    /// A cancelled waiter throws at once, leaves the queue (so it does not count against the
    /// bound) and is skipped by the next release.
    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let semaphore = AsyncSemaphore(permits: 1, maxWaiters: 1)
        try await semaphore.acquire()
        let cancelled = Task { try await semaphore.acquire() }
        try await waitUntil { semaphore.waiting == 1 }
        cancelled.cancel()
        await #expect(throws: AsyncSemaphore.AcquireError.cancelled) { try await cancelled.value }
        #expect(semaphore.waiting == 0)
        let next = Task { try await semaphore.acquire() }
        try await waitUntil { semaphore.waiting == 1 }
        semaphore.release()
        try await next.value
        #expect(semaphore.availablePermits == 0, "the live waiter got the permit, not the cancelled one")
        semaphore.release()
        #expect(semaphore.availablePermits == 1)
    }

    @Test func anAlreadyCancelledTaskDoesNotWait() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        try await semaphore.acquire()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await semaphore.acquire()
        }
        await #expect(throws: AsyncSemaphore.AcquireError.cancelled) { try await task.value }
        #expect(semaphore.waiting == 0)
    }

    /// Many tasks, some cancelled at random moments: every permit comes back, none is lost or
    /// duplicated, and no more than `permits` holders ever run at once.
    @Test func permitsAreConservedUnderCancellation() async throws {
        let semaphore = AsyncSemaphore(permits: 3)
        let holders = LockedBox((now: 0, most: 0))
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                let task = Task {
                    try await semaphore.acquire()
                    holders.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                    try? await Task.sleep(for: .microseconds(200))
                    holders.withLock { $0.now -= 1 }
                    semaphore.release()
                }
                group.addTask {
                    if index % 3 == 0 { task.cancel() }
                    _ = await task.result
                }
            }
        }
        #expect(holders.withLock { $0.most } <= 3)
        #expect(semaphore.availablePermits == 3)
        #expect(semaphore.waiting == 0)
    }
}
