import Foundation
import Synchronization

/// The client's send rate, learned from throttling (the idea of AWS SDKs' adaptive retry mode):
/// unlimited until the service first throttles; then a throttle sets the rate to 90 % of the rate
/// actually sent (once per rate: throttles answering requests sent before a decrease do not
/// decrease it again), and each success raises it so that it grows about 20 % per second. Callers wait for a token instead of being throttled, so
/// throughput sits just under the quota instead of spending retries against it.
final class AdaptiveRateLimiter: Sendable {
    private struct State {
        var rate = Double.infinity
        var tokens = 0.0
        var lastRefill = ContinuousClock.now
        /// Sends in the current 100 ms window, and the smoothed send rate.
        var windowStart = ContinuousClock.now
        var windowSends = 0
        var measured = 0.0
        /// Bumped by each decrease; a throttle of a request sent under an older rate is ignored.
        var generation = 0
    }

    private let state = Mutex(State())
    private let minimumRate: Double
    /// Multiplicative decrease per throttle. Gentle: KMS quotas are token buckets holding a
    /// second of rate, so a rate just above the quota drains the bucket slowly, and a deep cut
    /// would leave throughput well below the quota while the rate climbs back.
    static let decrease = 0.9

    init(minimumRate: Double = 1) {
        self.minimumRate = minimumRate
    }

    /// Requests per second currently allowed (infinity before the first throttle).
    var currentRate: Double { state.withLock { $0.rate } }

    /// Waits until sending is allowed, counts the send, and returns the rate's generation (to
    /// pass back with a throttle). Throws as soon as the task is cancelled while it waits.
    @discardableResult
    func acquire() async throws(CancellationError) -> Int {
        while true {
            let (wait, generation): (Duration?, Int) = state.withLock { state in
                let now = ContinuousClock.now
                Self.countWindow(&state, now: now)
                guard state.rate.isFinite else {
                    state.windowSends += 1
                    return (nil, state.generation)
                }
                let elapsed = now - state.lastRefill
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                state.tokens = min(max(1, state.rate / 10), state.tokens + seconds * state.rate)
                state.lastRefill = now
                if state.tokens >= 1 {
                    state.tokens -= 1
                    state.windowSends += 1
                    return (nil, state.generation)
                }
                return (.nanoseconds(Int64((1 - state.tokens) / state.rate * 1e9) + 1), state.generation)
            }
            guard let wait else { return generation }
            // Not `try?`: a cancelled sleep returns at once, and the loop would spin until the
            // token came.
            do {
                try await Task.sleep(for: wait)
            } catch {
                throw CancellationError()
            }
        }
    }

    /// A throttle of a request sent at `generation`; only the current rate's first throttle
    /// lowers it, so one burst of throttles answering the same rate counts once.
    func recordThrottle(generation: Int) {
        state.withLock { state in
            guard generation == state.generation else { return }
            state.generation += 1
            let now = ContinuousClock.now
            Self.countWindow(&state, now: now)
            let sent = max(state.measured, Double(state.windowSends) * 10)
            let base = state.rate.isFinite ? min(state.rate, sent) : sent
            state.rate = max(minimumRate, base * Self.decrease)
            state.tokens = 0
        }
    }

    func recordSuccess() {
        state.withLock { state in
            guard state.rate.isFinite else { return }
            state.rate *= 1 + 0.2 / max(state.rate, 1)
        }
    }

    private static func countWindow(_ state: inout State, now: ContinuousClock.Instant) {
        let window = Duration.milliseconds(100)
        guard now - state.windowStart >= window else { return }
        let rate = Double(state.windowSends) * 10
        state.measured = state.measured == 0 ? rate : 0.5 * state.measured + 0.5 * rate
        state.windowSends = 0
        state.windowStart = now
    }
}

