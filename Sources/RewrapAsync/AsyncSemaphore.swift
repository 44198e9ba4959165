import Synchronization

/// A counting semaphore for async code: at most `permits` holders at once, the rest wait in
/// FIFO order. Cancellation-aware: a waiter whose task is cancelled leaves the queue at once
/// and throws, so it never takes a permit later. Optionally the wait queue is bounded, and an
/// acquire that would exceed it is refused at once (an HSM's "busy", a server's back-pressure).
///
/// Used by the KMS client (requests in flight to the endpoint) and the KMS simulator (HSM
/// units); it is a leaf so the KAS server can use it for back-pressure too.
public final class AsyncSemaphore: Sendable {
    /// Why `acquire` did not get a permit.
    public enum AcquireError: Error, Sendable, Equatable {
        /// The calling task was cancelled before a permit was handed to it.
        case cancelled
        /// Every permit is held and the wait queue is full.
        case queueFull
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var available: Int
        /// FIFO: `waiters[head...]`, nil where a cancelled waiter left; compacted as it drains.
        var waiters: [Waiter?] = []
        var head = 0
        var waiting = 0
        var nextID: UInt64 = 0

        mutating func enqueue(_ waiter: Waiter) {
            waiters.append(waiter)
            waiting += 1
        }

        mutating func popFirst() -> Waiter? {
            while head < waiters.count {
                let next = waiters[head]
                waiters[head] = nil
                head += 1
                if let next {
                    waiting -= 1
                    compact()
                    return next
                }
            }
            compact()
            return nil
        }

        mutating func remove(id: UInt64) -> Waiter? {
            guard let index = waiters[head...].firstIndex(where: { $0?.id == id }), let found = waiters[index] else { return nil }
            waiters[index] = nil
            waiting -= 1
            compact()
            return found
        }

        /// Drops the consumed prefix once it is most of the storage, so the array stays
        /// proportional to the queue (amortised O(1) per waiter).
        private mutating func compact() {
            if waiting == 0 {
                waiters.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 64, head * 2 > waiters.count {
                waiters.removeFirst(head)
                head = 0
            }
        }
    }

    private let state: Mutex<State>
    /// nil: the queue is unbounded (bounded in practice by the callers: tasks waiting).
    public let maxWaiters: Int?
    public let permits: Int

    /// - Parameters:
    ///   - permits: holders at once; at least 1.
    ///   - maxWaiters: the longest the wait queue may get (0: never wait); nil for no bound.
    public init(permits: Int, maxWaiters: Int? = nil) {
        self.permits = max(1, permits)
        self.maxWaiters = maxWaiters.map { max(0, $0) }
        state = Mutex(State(available: self.permits))
    }

    /// Permits free now.
    public var availablePermits: Int { state.withLock { $0.available } }
    /// Tasks waiting now.
    public var waiting: Int { state.withLock { $0.waiting } }

    /// Takes a permit if one is free now, without waiting.
    public func tryAcquire() -> Bool {
        state.withLock { state in
            guard state.available > 0 else { return false }
            state.available -= 1
            return true
        }
    }

    /// Waits for a permit (FIFO). Throws `.cancelled` if the task is cancelled before a permit
    /// is handed to it (it leaves the queue, and the permit goes to the next waiter), and
    /// `.queueFull` at once when every permit is held and the bounded queue is full. A task
    /// cancelled after the hand-over keeps the permit: `release()` it as after any acquire.
    public func acquire() async throws(AcquireError) {
        if tryAcquire() { return }
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    // One critical section decides: a permit freed since the fast path, a task
                    // already cancelled (its handler ran before there was a waiter to remove, so
                    // it found nothing), a full queue, or a place in the queue.
                    let outcome = state.withLock { state -> Result<Void, AcquireError>? in
                        if state.available > 0 {
                            state.available -= 1
                            return .success(())
                        }
                        if Task.isCancelled { return .failure(.cancelled) }
                        if let maxWaiters, state.waiting >= maxWaiters { return .failure(.queueFull) }
                        state.enqueue(Waiter(id: id, continuation: continuation))
                        return nil
                    }
                    switch outcome {
                    case .success?: continuation.resume()
                    case .failure(let error)?: continuation.resume(throwing: error)
                    case nil: break
                    }
                }
            } onCancel: {
                // Runs once the task is marked cancelled; a waiter already handed a permit is
                // no longer queued, so it is not resumed twice.
                let removed = state.withLock { $0.remove(id: id) }
                removed?.continuation.resume(throwing: AcquireError.cancelled)
            }
        } catch {
            throw (error as? AcquireError) ?? .cancelled
        }
    }

    /// Returns a permit: to the first waiter if any, else to the pool.
    public func release() {
        let next = state.withLock { state -> Waiter? in
            if let waiter = state.popFirst() { return waiter }
            // Clamped: a release without an acquire must not raise the limit for good.
            state.available = min(permits, state.available + 1)
            return nil
        }
        next?.continuation.resume()
    }
}
