import Synchronization

/// The last `capacity` answer times, for the adaptive attempt timeout.
final class LatencyWindow: Sendable {
    private struct State {
        var samples: [Duration] = []
        var next = 0
        var seen = 0
        var cachedP99: Duration?
    }
    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    func record(_ latency: Duration) {
        state.withLock { state in
            if state.samples.count < capacity {
                state.samples.append(latency)
            } else {
                state.samples[state.next] = latency
                state.next = (state.next + 1) % capacity
            }
            state.seen += 1
            // Recompute now and then, not on every answer.
            if state.seen % 50 == 0 || state.cachedP99 == nil {
                let sorted = state.samples.sorted()
                state.cachedP99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
            }
        }
    }

    func p99(minimumSamples: Int) -> Duration? {
        state.withLock { $0.seen >= minimumSamples ? $0.cachedP99 : nil }
    }
}
