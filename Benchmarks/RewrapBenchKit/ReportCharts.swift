import Foundation

extension BenchReport {
    public struct Chart: Sendable {
        public var file: String
        public var title: String
        public var svg: String
    }

    /// Throughput vs batch size per path, latency CDF per path and efficiency per path, for the
    /// first allocator's uniform cases on all cores (the client of the key's family).
    public func charts() -> [Chart] {
        guard let allocator = allocators.first else { return [] }
        let uniform = cases.filter { $0.id.allocator == allocator && $0.id.workload == "uniform" && $0.id.threads == "all" }
        var algorithms: [String] = []
        for c in uniform where !algorithms.contains(c.id.algorithm) { algorithms.append(c.id.algorithm) }
        var charts: [Chart] = []
        var bars: [SVGChart.Bar] = []
        for algorithm in algorithms {
            let client = algorithm.hasPrefix("rsa") ? "rsa:2048" : algorithm
            let mine = uniform.filter { $0.id.algorithm == algorithm && $0.id.client == client }
            var paths: [String] = []
            for c in mine where !paths.contains(c.id.path) { paths.append(c.id.path) }
            let slug = algorithm.replacingOccurrences(of: ":", with: "-")

            let throughput = paths.map { path in
                SVGChart.Series(name: path, points: mine.filter { $0.id.path == path }.sorted { $0.id.batch < $1.id.batch }
                    .map { SVGChart.Point(x: Double($0.id.batch), y: $0.kaoPerSecond.median) })
            }
            let batches = Set(mine.map(\.id.batch)).sorted().map(Double.init)
            let title = "Throughput vs batch size: \(algorithm) KAS key, \(client) client, all cores"
            charts.append(Chart(file: "throughput-\(slug).svg", title: title, svg: SVGChart.lines(
                title: title, xLabel: "KAOs per request", yLabel: "KAO/s", xScale: .log10, yScale: .log10,
                series: throughput, xTicks: batches)))

            let largest = mine.map(\.id.batch).max() ?? 0
            let cdf = paths.compactMap { path -> SVGChart.Series? in
                guard let c = mine.first(where: { $0.id.path == path && $0.id.batch == largest }) else { return nil }
                return SVGChart.Series(name: path, points: c.latency.cdf.compactMap { point in
                    point.count == 2 ? SVGChart.Point(x: point[1], y: point[0]) : nil
                })
            }
            let cdfTitle = "Request latency CDF: \(algorithm), batch \(largest), all cores"
            charts.append(Chart(file: "latency-cdf-\(slug).svg", title: cdfTitle, svg: SVGChart.lines(
                title: cdfTitle, xLabel: "request latency (µs)", yLabel: "percentile", xScale: .log10, yScale: .linear, series: cdf)))

            for c in mine where c.id.batch == largest {
                if let efficiency = c.efficiency {
                    bars.append(SVGChart.Bar(group: c.id.path, series: algorithm, value: efficiency.median))
                }
            }
        }
        if !bars.isEmpty {
            let title = "Efficiency per path, largest batch, all cores (÷ OpenSSL ceiling; kms ÷ Little's-law bound)"
            charts.append(Chart(file: "efficiency.svg", title: title, svg: SVGChart.bars(
                title: title, yLabel: "efficiency", bars: bars,
                references: [(label: "EC goal 0.70", value: 0.70), (label: "RSA goal 0.90", value: 0.90)])))
        }
        return charts
    }
}
