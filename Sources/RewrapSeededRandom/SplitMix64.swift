import Foundation

/// SplitMix64 (Steele, Lea, Flood 2014): a small seeded generator, so draws are reproducible run
/// to run — the KMS simulator's faults and latencies, the load generator's Poisson schedule (the
/// same in every segment's process). Not for secrets.
package struct SplitMix64: Sendable, Equatable {
    private var state: UInt64
    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    package mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    package mutating func next(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + nextUnit() * (range.upperBound - range.lowerBound)
    }

    /// Standard normal (Box–Muller).
    package mutating func nextGaussian() -> Double {
        let u1 = Swift.max(nextUnit(), 1e-12)
        let u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// Exponential of mean 1: −ln(u), u uniform in (0, 1].
    package mutating func nextExponential() -> Double {
        -log((Double(next() >> 11) + 1) / Double(1 << 53))
    }
}
