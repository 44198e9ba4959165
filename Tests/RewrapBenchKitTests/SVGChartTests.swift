import Foundation
@testable import RewrapBenchKit
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The report's charts: well-formed standalone SVG whatever the input, stable bytes, sane axes.
@Suite struct SVGChartTests {
    typealias Point = SVGChart.Point
    typealias Series = SVGChart.Series

    /// Collects every element with its attributes, and the text of each `<text>`/`<title>` element.
    private final class Parsed: NSObject, XMLParserDelegate {
        var elements: [(name: String, attributes: [String: String])] = []
        var texts: [String] = []
        private var current: String?

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            elements.append((elementName, attributeDict))
            if elementName == "text" || elementName == "title" { current = "" }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            current? += string
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            if let text = current, elementName == "text" || elementName == "title" { texts.append(text) }
            current = nil
        }

        func all(_ name: String) -> [[String: String]] { elements.filter { $0.name == name }.map(\.attributes) }
    }

    /// Parses `svg` with XMLParser; records an issue (and returns nil) if it is not well-formed.
    private static func parse(_ svg: String, sourceLocation: SourceLocation = #_sourceLocation) -> Parsed? {
        let parser = XMLParser(data: Data(svg.utf8))
        let parsed = Parsed()
        parser.delegate = parsed  // weak: `parsed` outlives the parse
        let ok = parser.parse()
        #expect(ok, "not well-formed XML: \(String(describing: parser.parserError))", sourceLocation: sourceLocation)
        guard ok else { return nil }
        #expect(parsed.elements.first?.name == "svg", sourceLocation: sourceLocation)
        #expect(parsed.elements.first?.attributes["xmlns"] == "http://www.w3.org/2000/svg", sourceLocation: sourceLocation)
        return parsed
    }

    /// A CDF-shaped series: many points, repeated x values on the steps.
    static func cdf(_ name: String, base: Double) -> Series {
        Series(name: name, points: (0...100).map { Point(x: base * (1 + Double($0 / 10)), y: Double($0)) })
    }

    static func throughput() -> String {
        SVGChart.lines(title: "Throughput", xLabel: "batch size", yLabel: "KAO/s", xScale: .log10,
                       series: [Series(name: "rsa:2048", points: [Point(x: 1, y: 1234), Point(x: 16, y: 9000), Point(x: 256, y: 25262)]),
                                Series(name: "ec:secp256r1", points: [Point(x: 1, y: 3000), Point(x: 16, y: 20000), Point(x: 256, y: 60000)])],
                       xTicks: [1, 16, 256])
    }

    static func efficiency() -> String {
        SVGChart.bars(title: "Efficiency", yLabel: "efficiency",
                      bars: [.init(group: "rsa", series: "4 cores", value: 0.91), .init(group: "rsa", series: "8 cores", value: 0.76),
                             .init(group: "ec", series: "4 cores", value: 1.05), .init(group: "ec", series: "8 cores", value: 0.8)],
                      references: [(label: "goal 0.85", value: 0.85), (label: "goal 0.7", value: 0.7)])
    }

    @Test func lineChartIsWellFormedWithOnePolylinePerSeries() throws {
        let parsed = try #require(Self.parse(Self.throughput()))
        #expect(parsed.all("polyline").count == 2)
        #expect(parsed.all("circle").count == 6 + 2)  // markers, plus one per legend entry
        #expect(Set(parsed.all("polyline").compactMap { $0["stroke"] }).count == 2, "each series has its own colour")
        // The caller's batch-size ticks are the x labels.
        for label in ["1", "16", "256"] { #expect(parsed.texts.contains(label)) }
        #expect(parsed.texts.contains("Throughput"))
    }

    @Test func longSeriesDropMarkersButKeepEveryPoint() throws {
        let svg = SVGChart.lines(title: "Latency CDF", xLabel: "µs", yLabel: "percentile", xScale: .log10,
                                 series: [Self.cdf("local", base: 200), Self.cdf("kms", base: 3000)])
        let parsed = try #require(Self.parse(svg))
        #expect(parsed.all("circle").isEmpty)
        for polyline in parsed.all("polyline") {
            #expect(polyline["points"]?.split(separator: " ").count == 101)
        }
        for label in ["0", "20", "100", "1k", "10k"] { #expect(parsed.texts.contains(label), "missing tick \(label)") }
    }

    @Test func barChartIsWellFormedWithGroupsInFirstSeenOrderAndDashedReferences() throws {
        let parsed = try #require(Self.parse(Self.efficiency()))
        let bars = parsed.all("rect").filter { $0["fill"] != "#ffffff" && $0["fill"] != "none" }
        #expect(bars.count == 4 + 2)  // bars, plus one swatch per series in the legend
        let groupLabels = parsed.texts.filter { $0 == "rsa" || $0 == "ec" }
        #expect(groupLabels == ["rsa", "ec"])
        #expect(parsed.texts.contains("goal 0.85") && parsed.texts.contains("goal 0.7"))
        #expect(parsed.all("line").filter { $0["stroke-dasharray"] != nil }.count == 2)
        // The y axis starts at 0 and covers the tallest bar (1.05).
        #expect(parsed.texts.contains("0") && parsed.texts.contains("1.2"))
    }

    @Test func emptyInputSaysNoData() throws {
        let charts = [
            SVGChart.lines(title: "t", xLabel: "x", yLabel: "y", series: []),
            SVGChart.lines(title: "t", xLabel: "x", yLabel: "y", series: [Series(name: "a", points: []), Series(name: "b", points: [])]),
            SVGChart.lines(title: "t", xLabel: "x", yLabel: "y", xScale: .log10,
                           series: [Series(name: "a", points: [Point(x: 0, y: 1), Point(x: -3, y: 2), Point(x: .nan, y: 3)])]),
            SVGChart.bars(title: "t", yLabel: "y", bars: []),
            SVGChart.bars(title: "t", yLabel: "y", bars: [.init(group: "g", series: "s", value: .infinity)]),
        ]
        for svg in charts {
            let parsed = try #require(Self.parse(svg))
            #expect(parsed.texts.contains("no data"))
            #expect(parsed.all("polyline").isEmpty)
        }
        #expect(!Self.throughput().contains("no data"))
    }

    @Test func namesAndTitlesAreEscaped() throws {
        let name = #"p99 <rsa> & "ec" 'kms'"#
        let lines = SVGChart.lines(title: "A&B <x>", xLabel: "x<1", yLabel: "y&z", series: [Series(name: name, points: [Point(x: 1, y: 2)])])
        let bars = SVGChart.bars(title: "A&B", yLabel: "y", bars: [.init(group: "<g>", series: name, value: 1)],
                                 references: [(label: "goal & \"target\"", value: 0.5)])
        for svg in [lines, bars] {
            #expect(svg.contains("&lt;rsa&gt; &amp; &quot;ec&quot; &apos;kms&apos;"))
            #expect(!svg.contains("<rsa>"))
            let parsed = try #require(Self.parse(svg))
            #expect(parsed.texts.contains(name), "the parser decodes the entities back to the name")
        }
        #expect(try #require(Self.parse(lines)).texts.contains("A&B <x>"))
        #expect(try #require(Self.parse(bars)).texts.contains("goal & \"target\""))
        // Control characters are not XML 1.0 characters at all: dropped, not escaped.
        #expect(Self.parse(SVGChart.lines(title: "bell\u{7}", xLabel: "", yLabel: "", series: [Series(name: "a\u{0}", points: [Point(x: 1, y: 1)])])) != nil)
    }

    @Test func logAxesSkipPointsThatCannotBePlaced() throws {
        let points = [Point(x: -1, y: 5), Point(x: 0, y: 5), Point(x: 1, y: 5), Point(x: 10, y: 0), Point(x: 10, y: 6),
                      Point(x: .nan, y: 5), Point(x: 100, y: .infinity), Point(x: 1000, y: 7)]
        let svg = SVGChart.lines(title: "log", xLabel: "x", yLabel: "y", xScale: .log10, yScale: .log10,
                                 series: [Series(name: "s", points: points)])
        let parsed = try #require(Self.parse(svg))
        #expect(try #require(parsed.all("polyline").first?["points"]).split(separator: " ").count == 3)
        #expect(!svg.lowercased().contains("nan") && !svg.lowercased().contains("inf"))
        // On linear axes zero and negative values are fine; only the non-finite ones go.
        let linear = SVGChart.lines(title: "lin", xLabel: "x", yLabel: "y", series: [Series(name: "s", points: points)])
        #expect(try #require(Self.parse(linear)?.all("polyline").first?["points"]).split(separator: " ").count == 6)
    }

    @Test func degenerateRangesStillGiveAnAxisAroundThePoint() throws {
        let cases: [(SVGChart.Scale, [Point])] = [
            (.linear, [Point(x: 5, y: 3)]),
            (.linear, [Point(x: 2, y: 0), Point(x: 2, y: 0)]),
            (.log10, [Point(x: 100, y: 100)]),
        ]
        for (scale, points) in cases {
            let svg = SVGChart.lines(title: "one", xLabel: "x", yLabel: "y", xScale: scale, yScale: scale,
                                     series: [Series(name: "s", points: points)])
            let parsed = try #require(Self.parse(svg))
            let marker = try #require(parsed.all("circle").first)
            let cx = try #require(marker["cx"].flatMap(Double.init)), cy = try #require(marker["cy"].flatMap(Double.init))
            // Inside the plot, not at NaN or off-canvas: the empty range was padded rather than divided by.
            #expect(cx > 60 && cx < 600 && cy >= 44 && cy < 400, "marker at (\(cx), \(cy)) for \(points)")
            #expect(parsed.texts.filter { Double($0) != nil || $0.hasSuffix("k") }.count >= 4, "too few tick labels")
        }
    }

    /// Byte-stable output, across processes and machines: each chart equals its committed
    /// golden file. After a deliberate change to the charts, regenerate them with
    /// `REWRAP_UPDATE_GOLDEN=1 swift test --skip-build --filter SVGChartTests/outputIsDeterministic`,
    /// look at the SVGs, and commit them.
    @Test func outputIsDeterministic() throws {
        let charts = [
            ("throughput.svg", Self.throughput()),
            ("efficiency.svg", Self.efficiency()),
            ("cdf.svg", SVGChart.lines(title: "c", xLabel: "x", yLabel: "y", xScale: .log10, series: [Self.cdf("a", base: 3)])),
        ]
        for (name, svg) in charts {
            try Golden.check(svg, against: name)
        }
    }

    @Test func niceTicksUseOneTwoFiveStepsCoveringTheRange() throws {
        let ranges: [(Double, Double)] = [(0, 1), (0, 1.15), (0, 25262), (0, 100), (3, 97), (-0.3, 1.2e6), (1000, 1200),
                                          (0.001, 0.0042), (-50, -2), (7, 7), (0, 0)]
        for (lo, hi) in ranges {
            let ticks = SVGChart.niceTicks(lo: lo, hi: hi, target: 5)
            #expect(ticks.count >= 3 && ticks.count <= 12, "\(ticks) for \(lo)...\(hi)")
            let first = try #require(ticks.first), last = try #require(ticks.last)
            #expect(first <= lo && last >= hi, "\(ticks) does not cover \(lo)...\(hi)")
            let step = ticks[1] - ticks[0]
            let mantissa = step / pow(10, log10(step).rounded(.down))
            #expect([1.0, 2, 5, 10].contains { abs($0 - mantissa) < 1e-6 }, "step \(step) for \(lo)...\(hi)")
            for (a, b) in zip(ticks, ticks.dropFirst()) { #expect(abs((b - a) - step) <= step * 1e-6) }
            // Not wasteful: no whole empty interval beyond the data on either side.
            if lo < hi { #expect(first > lo - step && last < hi + step) }
        }
        #expect(SVGChart.niceTicks(lo: 0, hi: 100) == [0, 20, 40, 60, 80, 100])
    }

    @Test func logTicksAreDecadesWithTwoAndFiveBetween() {
        let ticks = SVGChart.logTicks(lo: 95, hi: 40000)
        #expect(ticks.decades == [10, 100, 1000, 10000, 100000])
        #expect(ticks.minor.count == 8 && ticks.minor.contains(200) && ticks.minor.contains(50000))
        #expect(SVGChart.logTicks(lo: 100, hi: 1000).decades == [100, 1000], "exact powers of ten are not widened")
        #expect(SVGChart.logTicks(lo: 100, hi: 100).decades == [10, 100, 1000])
        #expect(SVGChart.logTicks(lo: 1e-30, hi: 1e30).decades.count <= 11)
    }

    @Test func numberLabelsAreCompact() {
        let cases: [(Double, String)] = [
            (1234, "1.2k"), (25262, "25k"), (0.76, "0.76"), (1_500_000, "1.5M"), (0, "0"), (0.5, "0.5"), (1000, "1k"),
            (999_999, "1M"), (-2500, "-2.5k"), (100, "100"), (12.5, "12.5"), (0.30000000000000004, "0.3"), (1e-17, "0"),
            (250_000, "250k"), (0.0123, "0.012"), (2e9, "2G"),
        ]
        for (value, label) in cases { #expect(SVGChart.formatNumber(value) == label, "\(value)") }
    }

    @Test func seriesBeyondThePaletteReuseColoursWithADash() throws {
        let series = (0..<10).map { i in Series(name: "s\(i)", points: [Point(x: 1, y: Double(i)), Point(x: 2, y: Double(i + 1))]) }
        let parsed = try #require(Self.parse(SVGChart.lines(title: "many", xLabel: "x", yLabel: "y", series: series)))
        let polylines = parsed.all("polyline")
        #expect(polylines.count == 10)
        #expect(Set(polylines.prefix(8).compactMap { $0["stroke"] }).count == 8)
        #expect(polylines[8]["stroke"] == polylines[0]["stroke"] && polylines[8]["stroke-dasharray"] != nil)
        #expect(polylines[0]["stroke-dasharray"] == nil)
    }
}
