import Synchronization

/// Back-pressure (issue #10): a bound on Rewrap requests in flight and on KAOs admitted and not
/// yet answered. Past either, the request is answered `resource_exhausted` at once instead of
/// queueing without limit, so an overload costs the client one quick retry and the server
/// nothing, and the requests already admitted keep their latency.
///
/// A request holds its slot from its head to the end of its work, even when its answer went out
/// early at a deadline: the engine is still busy with it, and admitting a replacement would let
/// timed-out work pile up.
final class Admission: Sendable {
    let maxRequests: Int
    let maxKAOs: Int
    private let requests = Atomic<Int>(0)
    private let kaos = Atomic<Int>(0)

    init(maxRequests: Int, maxKAOs: Int) {
        self.maxRequests = maxRequests
        self.maxKAOs = maxKAOs
    }

    var requestsInFlight: Int { requests.load(ordering: .relaxed) }
    var kaosQueued: Int { kaos.load(ordering: .relaxed) }

    /// A request slot, or nil when every slot is taken.
    func admitRequest() -> Ticket? {
        guard requests.wrappingAdd(1, ordering: .relaxed).newValue <= maxRequests else {
            requests.wrappingSubtract(1, ordering: .relaxed)
            return nil
        }
        return Ticket(admission: self)
    }

    /// A ticket's request and its KAOs; released once, by `release()` or at the latest when the
    /// ticket is dropped.
    final class Ticket: Sendable {
        private let admission: Admission
        private let kaoCount = Atomic<Int>(0)
        private let released = Atomic<Bool>(false)

        fileprivate init(admission: Admission) { self.admission = admission }

        /// Adds `count` KAOs to the queue, or refuses (false) when they would overflow it.
        /// A single request larger than the whole queue is still admitted when the queue is
        /// empty, so the engine's own per-request limit decides it rather than starvation.
        func admitKAOs(_ count: Int) -> Bool {
            let total = admission.kaos.wrappingAdd(count, ordering: .relaxed).newValue
            if total > admission.maxKAOs && total != count {
                admission.kaos.wrappingSubtract(count, ordering: .relaxed)
                return false
            }
            kaoCount.store(count, ordering: .relaxed)
            return true
        }

        func release() {
            guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
            admission.kaos.wrappingSubtract(kaoCount.load(ordering: .relaxed), ordering: .relaxed)
            admission.requests.wrappingSubtract(1, ordering: .relaxed)
        }

        deinit { release() }
    }
}
