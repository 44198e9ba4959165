import Foundation
import RewrapSeededRandom

/// When each request of an open-loop run is due, fixed before the run and independent of the
/// responses (what makes the run open-loop: a slow answer delays no later request, and latency
/// is measured from these times, so a stall cannot hide the requests it held up — coordinated
/// omission, as wrk2 corrects it).
///
/// The rate may ramp linearly from `startRate` to `endRate` over `duration`; the expected number
/// of arrivals by time t is then N(t) = r₀·t + (r₁ − r₀)·t²/(2D). Arrival k sits at N⁻¹(sₖ), with
/// sₖ = k for a constant stream and sₖ the k-th event of a unit-rate Poisson process (a sum of
/// exponential gaps from a seeded generator) otherwise, so both processes follow the same rate
/// curve and a seed reproduces a Poisson schedule exactly.
///
/// Segments: with `--segment i/n` each of n generator processes sends the arrivals k with
/// k mod n = i − 1 of the same global schedule, so n segments together send exactly the whole
/// schedule, once, with no coordinator.
package struct ArrivalSchedule: Sendable, Equatable {
    package enum Process: Sendable, Equatable {
        case constant
        case poisson(seed: UInt64)
    }

    package let startRate: Double
    package let endRate: Double
    package let duration: Double
    package let process: Process
    package let segment: Segment

    /// A run of `duration` seconds at `rate` requests/s (or ramping to `endRate`).
    package init(rate: Double, endRate: Double? = nil, duration: Double, process: Process = .constant,
                 segment: Segment = .whole) {
        startRate = rate
        self.endRate = endRate ?? rate
        self.duration = duration
        self.process = process
        self.segment = segment
    }

    /// Requests/s the schedule offers on average (all segments together).
    package var meanRate: Double { (startRate + endRate) / 2 }

    /// Expected arrivals of the whole schedule (all segments).
    package var expectedArrivals: Double { meanRate * duration }

    /// Seconds from the start at which the cumulative expected arrivals reach `n`; nil past the
    /// end of the run.
    func time(ofCumulative n: Double) -> Double? {
        guard n > 0 else { return 0 }
        let a = (endRate - startRate) / (2 * duration)
        let b = startRate
        // The root of a·t² + b·t − n = 0 in the form that stays exact when a is 0 or tiny.
        let discriminant = b * b + 4 * a * n
        guard discriminant >= 0 else { return nil }
        let denominator = b + discriminant.squareRoot()
        guard denominator > 0 else { return nil }
        let t = 2 * n / denominator
        return t < duration ? t : nil
    }

    package func makeIterator() -> Iterator { Iterator(schedule: self) }

    /// This segment's arrivals in order: (global index, nanoseconds from the start).
    package struct Iterator: IteratorProtocol, Sendable {
        let schedule: ArrivalSchedule
        var global = 0
        var cumulative = 0.0
        var random: SplitMix64

        init(schedule: ArrivalSchedule) {
            self.schedule = schedule
            if case .poisson(let seed) = schedule.process { random = SplitMix64(seed: seed) } else { random = SplitMix64(seed: 0) }
        }

        package mutating func next() -> (index: Int, offset: UInt64)? {
            while true {
                let index = global
                global += 1
                switch schedule.process {
                case .constant: cumulative = Double(index)
                case .poisson: cumulative += random.nextExponential()
                }
                guard let t = schedule.time(ofCumulative: cumulative) else { return nil }
                if schedule.segment.contains(index) { return (index, UInt64(t * 1e9)) }
            }
        }
    }
}

/// A slice of a schedule one generator process sends: arrivals k with k mod count = index.
package struct Segment: Sendable, Equatable, CustomStringConvertible {
    /// 0-based.
    package let index: Int
    package let count: Int

    package static let whole = Segment(index: 0, count: 1)

    package init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count, "segment \(index) of \(count)")
        self.index = index
        self.count = count
    }

    /// "i/n", 1 ≤ i ≤ n (as `--segment` takes it).
    package init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= 10_000, i >= 1, i <= n else { return nil }
        self.init(index: i - 1, count: n)
    }

    package func contains(_ arrival: Int) -> Bool { arrival % count == index }

    package var description: String { "\(index + 1)/\(count)" }
}
