import Foundation

/// Charts for the benchmark report. The SVGs are committed beside the Markdown that embeds them, so the
/// same input must give the same bytes (fixed decimals, nothing emitted in hash order), and each must
/// stand alone in a browser `<img>`: SVG 1.1, attributes only, no fonts, CSS or scripts.
public enum SVGChart {
    public enum Scale: Sendable { case linear, log10 }

    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    public struct Series: Sendable {
        public var name: String
        /// Joined in the given order, not sorted by x: a CDF repeats x values on its vertical steps.
        public var points: [Point]
        public init(name: String, points: [Point]) {
            self.name = name
            self.points = points
        }
    }

    public struct Bar: Sendable {
        public var group: String
        public var series: String
        public var value: Double
        public init(group: String, series: String, value: Double) {
            self.group = group
            self.series = series
            self.value = value
        }
    }

    /// Line chart with markers, one colour per series, legend, axes with ticks and labels, grid lines.
    /// Points that cannot be placed (NaN, ±inf, ≤ 0 on a log axis) are dropped so one bad sample cannot
    /// break the report; colours follow the series' index so they match across charts.
    public static func lines(title: String, xLabel: String, yLabel: String, xScale: Scale = .linear, yScale: Scale = .linear,
                             series: [Series], xTicks: [Double]? = nil, width: Int = 720, height: Int = 420) -> String {
        let kept = series.map { $0.points.filter { placeable($0.x, on: xScale) && placeable($0.y, on: yScale) } }
        let all = kept.flatMap { $0 }
        guard !all.isEmpty else { return noData(title: title, width: width, height: height) }
        let x = Axis(scale: xScale, values: all.map(\.x), fixedTicks: (xTicks ?? []).filter { placeable($0, on: xScale) },
                     anchorZero: false, target: 6)
        let y = Axis(scale: yScale, values: all.map(\.y), fixedTicks: [], anchorZero: yScale == .linear, target: 5)
        let names = zip(series, kept).map { $1.isEmpty ? $0.name + " (no data)" : $0.name }
        let box = Box(width: width, height: height, yLabels: tickLabels(y.major), legend: names, bottomRows: 2)
        var svg = open(title: title, box: box)
        svg += grid(x: x, y: y, box: box)
        for (i, points) in kept.enumerated() where !points.isEmpty {
            let (colour, dash) = style(i)
            let xy = points.map { (box.px(x.fraction($0.x)), box.py(y.fraction($0.y))) }
            let coords = xy.map { "\(num($0.0)),\(num($0.1))" }.joined(separator: " ")
            svg.append(#"<polyline fill="none" stroke="\#(colour)" stroke-width="2" stroke-linejoin="round"\#(dashAttr(dash)) points="\#(coords)"/>"#)
            if points.count <= maxMarkers {
                for (cx, cy) in xy { svg.append(#"<circle cx="\#(num(cx))" cy="\#(num(cy))" r="3" fill="\#(colour)"/>"#) }
            }
        }
        svg += xAxis(x, box: box) + yAxis(y, box: box)
        svg.append(text(xLabel, x: (box.left + box.right) / 2, y: box.height - 12, size: titleFont, anchor: "middle"))
        svg.append(text(yLabel, x: 24, y: (box.top + box.bottom) / 2, size: titleFont, anchor: "middle", rotate: true))
        svg += legend(names, swatch: .line(markers: kept.map { $0.count <= maxMarkers }), box: box)
        return close(svg)
    }

    /// Grouped bar chart: one group per distinct `group` (in first-seen order), one bar per `series` in each group, legend,
    /// optional horizontal reference lines (e.g. goals) drawn dashed with their label.
    /// A bar whose value is not finite leaves its slot empty so the other bars keep their places.
    public static func bars(title: String, yLabel: String, bars: [Bar], references: [(label: String, value: Double)] = [],
                            width: Int = 720, height: Int = 420) -> String {
        let finite = bars.filter { $0.value.isFinite }
        guard !finite.isEmpty else { return noData(title: title, width: width, height: height) }
        let groups = firstSeen(bars.map(\.group)), names = firstSeen(bars.map(\.series))
        var value: [BarKey: Double] = [:]
        for bar in finite { value[BarKey(group: bar.group, series: bar.series)] = bar.value }
        let withData = Set(finite.map(\.series))
        let refs = references.filter { $0.value.isFinite }
        let y = Axis(scale: .linear, values: finite.map(\.value) + refs.map(\.value), fixedTicks: [], anchorZero: true, target: 5)
        let legendNames = names.map { withData.contains($0) ? $0 : $0 + " (no data)" }
        let gutterChars = min(refs.map(\.label.count).max() ?? 0, Int(Double(width) * 0.2 / charWidth(tickFont)))
        let box = Box(width: width, height: height, yLabels: tickLabels(y.major), legend: legendNames, bottomRows: 1,
                      gutterChars: gutterChars)
        var svg = open(title: title, box: box)
        svg += grid(x: nil, y: y, box: box)

        let groupWidth = (box.right - box.left) / Double(groups.count)
        let barWidth = groupWidth * 0.8 / Double(names.count)
        let gap = min(2, barWidth * 0.1)
        let zeroY = box.py(y.fraction(0))
        var valueLabels: [(x: Double, y: Double, text: String)] = []
        for (g, group) in groups.enumerated() {
            for (s, name) in names.enumerated() {
                guard let v = value[BarKey(group: group, series: name)] else { continue }
                let x0 = box.left + Double(g) * groupWidth + groupWidth * 0.1 + Double(s) * barWidth
                let top = box.py(y.fraction(v))
                let (colour, dash) = style(s)
                svg.append(#"<rect x="\#(num(x0 + gap / 2))" y="\#(num(min(top, zeroY)))" width="\#(num(barWidth - gap))" height="\#(num(abs(zeroY - top)))" fill="\#(colour)"\#(barOutline(dash))/>"#)
                valueLabels.append((x0 + barWidth / 2, v >= 0 ? top - 4 : top + 12, formatNumber(v)))
            }
        }
        // All or none: a chart where only some bars are labelled reads as if the others were missing.
        if valueLabels.allSatisfy({ Double($0.text.count) * charWidth(valueFont) <= barWidth + 2 }) {
            for label in valueLabels {
                svg.append(text(label.text, x: label.x, y: label.y, size: valueFont, anchor: "middle", fill: "#444444"))
            }
        }
        if y.lo < 0 { svg.append(line(box.left, zeroY, box.right, zeroY, stroke: axisColour)) }
        svg += referenceLines(refs, axis: y, box: box)
        let groupChars = max(1, Int(groupWidth / charWidth(tickFont)))
        for (g, group) in groups.enumerated() {
            let cx = box.left + (Double(g) + 0.5) * groupWidth
            svg.append(text(truncated(group, groupChars), x: cx, y: box.bottom + 18, size: tickFont, anchor: "middle"))
        }
        svg.append(line(box.left, box.bottom, box.right, box.bottom, stroke: axisColour))
        svg += yAxis(y, box: box)
        svg.append(text(yLabel, x: 24, y: (box.top + box.bottom) / 2, size: titleFont, anchor: "middle", rotate: true))
        svg += legend(legendNames, swatch: .block, box: box)
        return close(svg)
    }

    private static func firstSeen(_ items: [String]) -> [String] {
        var seen = Set<String>()
        return items.filter { seen.insert($0).inserted }
    }

    private struct BarKey: Hashable {
        let group: String
        let series: String
    }
}
