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

    // MARK: - Axes and ticks

    private struct Axis {
        let scale: Scale
        var lo = 0.0
        var hi = 1.0
        var major: [Double] = []
        var minor: [Double] = []

        init(scale: Scale, values: [Double], fixedTicks: [Double], anchorZero: Bool, target: Int) {
            self.scale = scale
            var lo = values.min() ?? 0, hi = values.max() ?? 0
            if let first = fixedTicks.min(), let last = fixedTicks.max() {
                // Caller-chosen ticks (e.g. the batch sizes measured): pad so edge markers stay off the frame.
                major = Array(Set(fixedTicks)).sorted()
                (self.lo, self.hi) = SVGChart.pad(min(lo, first), max(hi, last), scale)
                return
            }
            switch scale {
            case .linear:
                if anchorZero { (lo, hi) = (min(lo, 0), max(hi, 0)) }
                if anchorZero && lo == hi { hi = 1 }
                major = niceTicks(lo: lo, hi: hi, target: target)
            case .log10:
                let ticks = logTicks(lo: lo, hi: hi)
                // Within two decades the decades alone are too few labels: label the 2s and 5s as well.
                if ticks.decades.count <= 3 { major = (ticks.decades + ticks.minor).sorted() } else { (major, minor) = ticks }
            }
            (self.lo, self.hi) = (major.first ?? 0, major.last ?? 1)
        }

        func fraction(_ v: Double) -> Double {
            switch scale {
            case .linear: (v - lo) / (hi - lo)
            case .log10: (Foundation.log10(v) - Foundation.log10(lo)) / (Foundation.log10(hi) - Foundation.log10(lo))
            }
        }
    }

    /// Ticks at 1/2/5 × 10^k steps covering `lo...hi` with about `target` intervals.
    static func niceTicks(lo: Double, hi: Double, target: Int = 5) -> [Double] {
        guard lo.isFinite, hi.isFinite else { return [] }
        var (lo, hi) = (min(lo, hi), max(lo, hi))
        if lo == hi {
            let d = lo == 0 ? 1 : abs(lo) * 0.1
            (lo, hi) = (lo - d, hi + d)
        }
        let rough = (hi - lo) / Double(min(max(target, 1), 50))
        guard rough.isFinite, rough > 0 else { return [lo, hi] }
        let magnitude = pow(10, log10(rough).rounded(.down))
        let residual = rough / magnitude
        // Round to the 1/2/5 step nearest on a log scale, so the tick count lands near `target`.
        let step = (residual < 1.5 ? 1 : residual < 3.2 ? 2 : residual < 7 ? 5 : 10) * magnitude
        // The tolerance keeps float noise (0.30000000000000004 / 0.1) from adding an empty interval.
        let first = (lo / step + 1e-9).rounded(.down), last = (hi / step - 1e-9).rounded(.up)
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    /// Decades covering `lo...hi` (at least two), and the 2 and 5 multiples between them as minor ticks.
    static func logTicks(lo: Double, hi: Double) -> (decades: [Double], minor: [Double]) {
        guard lo > 0, hi > 0, lo.isFinite, hi.isFinite else { return ([1, 10], [2, 5]) }
        var first = Int((log10(min(lo, hi)) + 1e-9).rounded(.down))
        var last = Int((log10(max(lo, hi)) - 1e-9).rounded(.up))
        if first >= last { (first, last) = (first - 1, first + 1) }
        // Thin to at most ~10 labelled decades; minor ticks only make sense one decade apart.
        let every = max(1, (last - first + 9) / 10)
        last = first + (last - first + every - 1) / every * every
        let exponents = Array(stride(from: first, through: last, by: every))
        let decades = exponents.map { pow(10, Double($0)) }
        let minor = every > 1 ? [] : decades.dropLast().flatMap { [2 * $0, 5 * $0] }
        return (decades, minor)
    }

    private static func pad(_ lo: Double, _ hi: Double, _ scale: Scale) -> (Double, Double) {
        switch scale {
        case .linear:
            let d = hi > lo ? (hi - lo) * 0.05 : (lo == 0 ? 1 : abs(lo) * 0.1)
            return (lo - d, hi + d)
        case .log10:
            let (a, b) = (log10(lo), log10(hi))
            let d = b > a ? (b - a) * 0.05 : 0.5
            return (pow(10, a - d), pow(10, b + d))
        }
    }

    private static func placeable(_ v: Double, on scale: Scale) -> Bool {
        v.isFinite && (scale == .linear || v > 0)
    }

    // MARK: - Number formatting and escaping

    /// Compact label: 1.2k, 25k, 1.5M, 0.76, 2.5 — short enough that axis labels never collide.
    static func formatNumber(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : v > 0 ? "inf" : "-inf" }
        let a = abs(v)
        guard a >= 1e-12 else { return "0" }  // k × step leaves ~1e-17 where 0 is meant
        let sign = v < 0 ? "-" : ""
        if a < 1 { return sign + fixed(a, decimals: min(12, max(2, Int((-log10(a)).rounded(.down)) + 2))) }
        let units: [(size: Double, suffix: String)] = [(1, ""), (1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T")]
        var i = units.lastIndex { a >= $0.size } ?? 0
        while true {
            let scaled = a / units[i].size
            let plain = units[i].suffix.isEmpty
            let text = fixed(scaled, decimals: scaled < 10 ? (plain ? 2 : 1) : (scaled < 100 && plain ? 1 : 0))
            // 999_999 rounds to "1000k": say "1M" instead.
            if (Double(text) ?? 0) >= 1000, i + 1 < units.count {
                i += 1
                continue
            }
            return sign + text + units[i].suffix
        }
    }

    /// Compact labels, unless compacting makes two ticks read the same (1050 and 1100 both "1.1k").
    private static func tickLabels(_ ticks: [Double]) -> [String] {
        let compact = ticks.map(formatNumber)
        guard Set(compact).count < compact.count else { return compact }
        let gap = zip(ticks, ticks.dropFirst()).map { abs($1 - $0) }.filter { $0 > 0 }.min() ?? 1
        let decimals = min(12, max(0, Int((-log10(gap)).rounded(.up))))
        return ticks.map { fixed($0, decimals: decimals) }
    }

    /// `%.Nf` without trailing zeros; `String(format:)` is locale-independent, so the bytes are stable.
    private static func fixed(_ v: Double, decimals: Int) -> String {
        var s = String(format: "%.\(decimals)f", v)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }

    /// Coordinates: always one decimal, so output is byte-stable and small.
    private static func num(_ v: Double) -> String {
        let s = String(format: "%.1f", v.isFinite ? v : 0)
        return s == "-0.0" ? "0.0" : s
    }

    /// Escapes markup and drops characters XML 1.0 forbids, so any series name still gives a well-formed file.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out += " "
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func truncated(_ s: String, _ maxChars: Int) -> String {
        s.count <= maxChars ? s : String(s.prefix(max(0, maxChars - 1))) + "…"
    }

    private static func firstSeen(_ items: [String]) -> [String] {
        var seen = Set<String>()
        return items.filter { seen.insert($0).inserted }
    }

    private struct BarKey: Hashable {
        let group: String
        let series: String
    }

    // MARK: - Layout and drawing

    private static let maxMarkers = 30
    private static let tickFont = 11.0, legendFont = 12.0, titleFont = 13.0, valueFont = 10.0
    private static let axisColour = "#444444", textColour = "#222222", white = "#ffffff", frameColour = "#cccccc"
    private static let referenceColour = "#333333"
    /// Okabe–Ito, blue first and yellow last (weakest on white); a 9th series reuses blue with a dash.
    private static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
    private static let dashes = ["", "7,4", "2,3", "9,3,2,3"]

    private static func style(_ i: Int) -> (colour: String, dash: String) {
        (palette[i % palette.count], dashes[(i / palette.count) % dashes.count])
    }

    private static func dashAttr(_ dash: String) -> String {
        dash.isEmpty ? "" : #" stroke-dasharray="\#(dash)""#
    }

    /// Bars have no line to dash, so a reused colour is told apart by a dashed outline.
    private static func barOutline(_ dash: String) -> String {
        dash.isEmpty ? "" : #" stroke="\#(axisColour)" stroke-width="1"\#(dashAttr(dash))"#
    }

    /// Average glyph advance of a sans-serif font; the renderer's font is unknown, so this only has to be close.
    private static func charWidth(_ size: Double) -> Double { size * 0.6 }

    /// The plot rectangle; the legend sits to its right so it never covers data.
    private struct Box {
        let width: Double, height: Double
        let left: Double, top: Double, right: Double, bottom: Double
        let legendX: Double
        let legendChars: Int
        /// Room right of the plot for reference-line labels, so they never sit on top of bars.
        let gutter: Double
        let gutterChars: Int

        init(width: Int, height: Int, yLabels: [String], legend: [String], bottomRows: Int, gutterChars: Int = 0) {
            self.width = Double(max(width, 240))
            self.height = Double(max(height, 160))
            let yTickWidth = Double(yLabels.map(\.count).max() ?? 1) * charWidth(tickFont)
            left = 36 + 8 + yTickWidth + 6  // rotated y title, gap, tick labels, tick mark
            top = 44
            bottom = self.height - 14 - Double(bottomRows) * 18
            legendChars = max(3, min(legend.map(\.count).max() ?? 0, Int((self.width * 0.3 - 28) / charWidth(legendFont))))
            legendX = self.width - 10 - 28 - Double(legendChars) * charWidth(legendFont)
            self.gutterChars = gutterChars
            gutter = gutterChars == 0 ? 0 : 8 + Double(gutterChars) * charWidth(tickFont)
            right = max(left + 40, legendX - 16 - gutter)
        }

        func px(_ f: Double) -> Double { left + f * (right - left) }
        func py(_ f: Double) -> Double { bottom - f * (bottom - top) }
    }

    private static func open(title: String, box: Box) -> [String] {
        let (w, h) = (Int(box.width), Int(box.height))
        // Long titles shrink (down to 11 px) before they are cut; `<title>` keeps the whole text anyway.
        let titleSize = min(15, max(11, ((box.width - 20) / charWidth(1) / Double(max(1, title.count))).rounded(.down)))
        let titleChars = Int((box.width - 20) / charWidth(titleSize))
        return [
            #"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#,
            #"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\#(w)" height="\#(h)" viewBox="0 0 \#(w) \#(h)" font-family="sans-serif">"#,
            "<title>\(escape(title))</title>",
            #"<rect x="0" y="0" width="\#(w)" height="\#(h)" fill="\#(white)"/>"#,
            text(truncated(title, titleChars), x: box.width / 2, y: 26, size: titleSize, anchor: "middle", bold: true),
        ]
    }

    private static func close(_ lines: [String]) -> String {
        (lines + ["</svg>"]).joined(separator: "\n") + "\n"
    }

    private static func noData(title: String, width: Int, height: Int) -> String {
        let box = Box(width: width, height: height, yLabels: [], legend: [], bottomRows: 0)
        var svg = open(title: title, box: box)
        svg.append(#"<rect x="20.0" y="44.0" width="\#(num(box.width - 40))" height="\#(num(box.height - 64))" fill="none" stroke="\#(frameColour)"/>"#)
        svg.append(text("no data", x: box.width / 2, y: (box.height + 44) / 2, size: 14, anchor: "middle", fill: "#666666"))
        return close(svg)
    }

    private static func text(_ s: String, x: Double, y: Double, size: Double, anchor: String = "start",
                             fill: String = textColour, bold: Bool = false, rotate: Bool = false) -> String {
        let position = rotate ? #"transform="translate(\#(num(x)),\#(num(y))) rotate(-90)""# : #"x="\#(num(x))" y="\#(num(y))""#
        let weight = bold ? #" font-weight="bold""# : ""
        return #"<text \#(position) font-size="\#(num(size))" text-anchor="\#(anchor)" fill="\#(fill)"\#(weight)>\#(escape(s))</text>"#
    }

    private static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String,
                             width: Double = 1, dash: String = "") -> String {
        #"<line x1="\#(num(x1))" y1="\#(num(y1))" x2="\#(num(x2))" y2="\#(num(y2))" stroke="\#(stroke)" stroke-width="\#(num(width))"\#(dashAttr(dash))/>"#
    }

    private static func grid(x: Axis?, y: Axis, box: Box) -> [String] {
        var out: [String] = []
        for (ticks, colour) in [(x?.minor ?? [], "#f0f0f0"), (x?.major ?? [], "#dddddd")] {
            for v in ticks { if let x { out.append(line(box.px(x.fraction(v)), box.top, box.px(x.fraction(v)), box.bottom, stroke: colour)) } }
        }
        for (ticks, colour) in [(y.minor, "#f0f0f0"), (y.major, "#dddddd")] {
            for v in ticks { out.append(line(box.left, box.py(y.fraction(v)), box.right, box.py(y.fraction(v)), stroke: colour)) }
        }
        return out
    }

    /// Which labels to draw so that none overlaps the previous one drawn.
    private static func spaced(_ positions: [Double], sizes: [Double], gap: Double = 6) -> [Bool] {
        var last: (position: Double, size: Double)?
        return zip(positions, sizes).map { p, s in
            if let last, abs(p - last.position) < (last.size + s) / 2 + gap { return false }
            last = (p, s)
            return true
        }
    }

    private static func xAxis(_ axis: Axis, box: Box) -> [String] {
        var out = [line(box.left, box.bottom, box.right, box.bottom, stroke: axisColour)]
        let labels = tickLabels(axis.major)
        let xs = axis.major.map { box.px(axis.fraction($0)) }
        let keep = spaced(xs, sizes: labels.map { Double($0.count) * charWidth(tickFont) })
        for (i, x) in xs.enumerated() {
            out.append(line(x, box.bottom, x, box.bottom + 4, stroke: axisColour))
            if keep[i] { out.append(text(labels[i], x: x, y: box.bottom + 17, size: tickFont, anchor: "middle")) }
        }
        return out
    }

    private static func yAxis(_ axis: Axis, box: Box) -> [String] {
        var out = [line(box.left, box.top, box.left, box.bottom, stroke: axisColour)]
        let labels = tickLabels(axis.major)
        let ys = axis.major.map { box.py(axis.fraction($0)) }
        let keep = spaced(ys, sizes: ys.map { _ in tickFont }, gap: 2)
        for (i, y) in ys.enumerated() {
            out.append(line(box.left - 4, y, box.left, y, stroke: axisColour))
            if keep[i] { out.append(text(labels[i], x: box.left - 7, y: y + 4, size: tickFont, anchor: "end")) }
        }
        return out
    }

    /// Dashed lines labelled in the gutter right of the plot; labels of close values are pushed apart.
    private static func referenceLines(_ refs: [(label: String, value: Double)], axis: Axis, box: Box) -> [String] {
        var out: [String] = []
        let ys = refs.map { box.py(axis.fraction($0.value)) }
        // Top to bottom (ties by input order, for determinism), each label at least a line below the previous.
        let order = ys.indices.sorted { ys[$0] != ys[$1] ? ys[$0] < ys[$1] : $0 < $1 }
        var previous = -Double.infinity
        for i in order {
            let baseline = max(ys[i] + 4, previous + 13)
            previous = baseline
            out.append(line(box.left, ys[i], box.right + 4, ys[i], stroke: referenceColour, width: 1.5, dash: "6,4"))
            out.append(text(truncated(refs[i].label, box.gutterChars), x: box.right + 8, y: baseline, size: tickFont, fill: referenceColour))
        }
        return out
    }

    private enum Swatch {
        /// `markers[i]`: whether series i is drawn with markers, so its legend entry looks the same.
        case line(markers: [Bool])
        case block
    }

    private static func legend(_ names: [String], swatch: Swatch, box: Box) -> [String] {
        let rowHeight = 18.0
        let capacity = max(1, Int((box.bottom - box.top) / rowHeight))
        let shown = names.count > capacity ? capacity - 1 : names.count
        var out: [String] = []
        for (i, name) in names.prefix(shown).enumerated() {
            let y = box.top + 8 + Double(i) * rowHeight
            let (colour, dash) = style(i)
            switch swatch {
            case .line(let markers):
                out.append(line(box.legendX, y, box.legendX + 20, y, stroke: colour, width: 2, dash: dash))
                if markers[i] { out.append(#"<circle cx="\#(num(box.legendX + 10))" cy="\#(num(y))" r="3" fill="\#(colour)"/>"#) }
            case .block:
                out.append(#"<rect x="\#(num(box.legendX + 4))" y="\#(num(y - 6))" width="12.0" height="12.0" fill="\#(colour)"\#(barOutline(dash))/>"#)
            }
            out.append(text(truncated(name, box.legendChars), x: box.legendX + 26, y: y + 4, size: legendFont))
        }
        if shown < names.count {
            let y = box.top + 8 + Double(shown) * rowHeight
            out.append(text("+\(names.count - shown) more", x: box.legendX + 26, y: y + 4, size: legendFont, fill: "#666666"))
        }
        return out
    }
}
