import ArgumentParser
import Foundation
import RewrapBenchKit
import RewrapLoad

struct Merge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Combine HdrHistogram interval logs (`rewrap-bench load --histogram-log`, one per --segment) into one report.",
        discussion: """
        Each generator process of a run split with --segment i/n writes its own log; the segments \\
        together sent the whole schedule, so their histograms add up to the run's. Prints the \\
        requests, the span they cover, the rate, and latency percentiles of the merged histogram \\
        (from intended send times, µs precision), with one line per log. Any HdrHistogram interval \\
        log (format 1.3, compressed V2 histograms) is read.

        Examples:
          rewrap-bench merge a.hlog b.hlog
          rewrap-bench merge logs/*.hlog --threshold 'p99<25ms' --out merged.json
        """)

    @Argument(help: "Interval logs.") var logs: [String]
    @Option(help: "A latency condition on the merged histogram (p50 p90 p99 p99.9 max mean); exit 1 when it breaks.")
    var threshold: [String] = []
    @Option(help: "Write the merged figures as JSON here.") var out: String?

    struct Report: Codable {
        var logs: [String]
        var requests: Int
        var spanSeconds: Double
        var rate: Double
        var latency: BenchReport.Latency
    }

    func validate() throws {
        guard !logs.isEmpty else { throw ValidationError("give at least one interval log") }
        for text in threshold {
            guard let parsed = try? Threshold(parsing: text), parsed.metric.isLatency else {
                throw ValidationError("--threshold \(text): a latency condition such as 'p99<25ms'")
            }
        }
    }

    func run() async throws {
        var total = LatencyRecorder()
        var first = Double.infinity
        var last = -Double.infinity
        var lines: [String] = []
        for path in logs {
            let intervals: [HistogramLogReader.Interval]
            do { intervals = try HistogramLogReader.read(path: path) } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode(2)
            }
            var part = LatencyRecorder()
            for interval in intervals {
                part.add(interval.histogram)
                first = min(first, interval.start)
                last = max(last, interval.start + interval.length)
            }
            total.add(part)
            lines.append("  \(path): \(intervals.count) intervals, \(part.count) requests, p99 "
                + String(format: "%.2f ms", part.percentile(99) / 1000))
        }
        let span = last > first ? last - first : 0
        let summary = total.summary
        func ms(_ microseconds: Double) -> String { String(format: "%.2f ms", microseconds / 1000) }
        print("rewrap-bench merge: \(logs.count) log(s), \(total.count) requests over \(String(format: "%.1f", span)) s ("
            + String(format: "%.1f", span > 0 ? Double(total.count) / span : 0) + "/s)")
        print("latency     p50 \(ms(summary.p50Microseconds))  p90 \(ms(summary.p90Microseconds))  p99 \(ms(summary.p99Microseconds))"
            + "  p99.9 \(ms(summary.p999Microseconds))  max \(ms(summary.maxMicroseconds))")
        lines.forEach { print($0) }
        if let out {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(Report(logs: logs, requests: total.count, spanSeconds: span,
                                      rate: span > 0 ? Double(total.count) / span : 0, latency: summary))
                .write(to: URL(fileURLWithPath: out))
        }
        var result = LoadResult()
        result.latency = total
        let broken = try threshold.map { try Threshold(parsing: $0) }.filter { !$0.holds(in: result, offeredRate: 0) }
        if !broken.isEmpty {
            FileHandle.standardError.write(Data("thresholds broken: \(broken.map(\.text).joined(separator: ", "))\n".utf8))
            throw ExitCode(1)
        }
    }
}
