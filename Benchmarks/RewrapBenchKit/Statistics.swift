import Histogram

public enum Statistics {
    /// The middle value (mean of the two middle ones for an even count); 0 when empty.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// Request latencies in an HdrHistogram (1 µs to 60 s, 3 significant digits): fixed memory
/// whatever the request count, percentiles within 0.1 %, and histograms of separate streams and
/// repetitions add up exactly.
public struct LatencyRecorder: Sendable {
    public private(set) var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000,
                                                   numberOfSignificantValueDigits: .three)

    public init() {}

    public var count: Int { Int(histogram.totalCount) }

    /// Records one request; values beyond the range are clamped to it rather than lost.
    public mutating func record(nanoseconds: UInt64) {
        let microseconds = min(max(nanoseconds / 1000, 1), histogram.highestTrackableValue)
        _ = histogram.record(microseconds)
    }

    /// `count` requests of `microseconds` each (a decoded histogram's bucket); clamped like `record`.
    public mutating func record(microseconds: UInt64, count: UInt64) {
        _ = histogram.record(min(max(microseconds, 1), histogram.highestTrackableValue), count: count)
    }

    public mutating func add(_ other: LatencyRecorder) {
        histogram.add(other.histogram)
    }

    /// Value at percentile p (0…100), µs.
    public func percentile(_ p: Double) -> Double {
        count == 0 ? 0 : Double(histogram.valueAtPercentile(p))
    }

    public var summary: BenchReport.Latency {
        guard count > 0 else {
            return .init(count: 0, p50Microseconds: 0, p90Microseconds: 0, p99Microseconds: 0, p999Microseconds: 0,
                         maxMicroseconds: 0, meanMicroseconds: 0, cdf: [])
        }
        return .init(count: count, p50Microseconds: percentile(50), p90Microseconds: percentile(90),
                     p99Microseconds: percentile(99), p999Microseconds: percentile(99.9),
                     maxMicroseconds: Double(histogram.max), meanMicroseconds: histogram.mean, cdf: cdf())
    }

    /// (percentile, µs) points dense in the tail: 0, 10, …, 90, then each halving of what is left
    /// (95, 97.5, …) down to 1 / count, then 100.
    func cdf() -> [[Double]] {
        var points: [[Double]] = stride(from: 0.0, through: 90.0, by: 10.0).map { [$0, percentile($0)] }
        var remaining = 10.0
        while remaining / 2 >= 100 / Double(count) && remaining > 0.001 {
            remaining /= 2
            points.append([100 - remaining, percentile(100 - remaining)])
        }
        points.append([100, Double(histogram.max)])
        return points
    }
}
