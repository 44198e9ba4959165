import Foundation

/// Layout and drawing: the plot box, styles, axes, grid, reference lines and legend, as SVG elements.
extension SVGChart {
    static let maxMarkers = 30
    static let tickFont = 11.0, legendFont = 12.0, titleFont = 13.0, valueFont = 10.0
    static let axisColour = "#444444", textColour = "#222222", white = "#ffffff", frameColour = "#cccccc"
    static let referenceColour = "#333333"
    /// Okabe–Ito, blue first and yellow last (weakest on white); a 9th series reuses blue with a dash.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
    static let dashes = ["", "7,4", "2,3", "9,3,2,3"]

    static func style(_ i: Int) -> (colour: String, dash: String) {
        (palette[i % palette.count], dashes[(i / palette.count) % dashes.count])
    }

    static func dashAttr(_ dash: String) -> String {
        dash.isEmpty ? "" : #" stroke-dasharray="\#(dash)""#
    }

    /// Bars have no line to dash, so a reused colour is told apart by a dashed outline.
    static func barOutline(_ dash: String) -> String {
        dash.isEmpty ? "" : #" stroke="\#(axisColour)" stroke-width="1"\#(dashAttr(dash))"#
    }

    /// Average glyph advance of a sans-serif font; the renderer's font is unknown, so this only has to be close.
    static func charWidth(_ size: Double) -> Double { size * 0.6 }

    /// The plot rectangle; the legend sits to its right so it never covers data.
    struct Box {
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

    static func open(title: String, box: Box) -> [String] {
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

    static func close(_ lines: [String]) -> String {
        (lines + ["</svg>"]).joined(separator: "\n") + "\n"
    }

    static func noData(title: String, width: Int, height: Int) -> String {
        let box = Box(width: width, height: height, yLabels: [], legend: [], bottomRows: 0)
        var svg = open(title: title, box: box)
        svg.append(#"<rect x="20.0" y="44.0" width="\#(num(box.width - 40))" height="\#(num(box.height - 64))" fill="none" stroke="\#(frameColour)"/>"#)
        svg.append(text("no data", x: box.width / 2, y: (box.height + 44) / 2, size: 14, anchor: "middle", fill: "#666666"))
        return close(svg)
    }

    static func text(_ s: String, x: Double, y: Double, size: Double, anchor: String = "start",
                             fill: String = textColour, bold: Bool = false, rotate: Bool = false) -> String {
        let position = rotate ? #"transform="translate(\#(num(x)),\#(num(y))) rotate(-90)""# : #"x="\#(num(x))" y="\#(num(y))""#
        let weight = bold ? #" font-weight="bold""# : ""
        return #"<text \#(position) font-size="\#(num(size))" text-anchor="\#(anchor)" fill="\#(fill)"\#(weight)>\#(escape(s))</text>"#
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String,
                             width: Double = 1, dash: String = "") -> String {
        #"<line x1="\#(num(x1))" y1="\#(num(y1))" x2="\#(num(x2))" y2="\#(num(y2))" stroke="\#(stroke)" stroke-width="\#(num(width))"\#(dashAttr(dash))/>"#
    }

    static func grid(x: Axis?, y: Axis, box: Box) -> [String] {
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
    static func spaced(_ positions: [Double], sizes: [Double], gap: Double = 6) -> [Bool] {
        var last: (position: Double, size: Double)?
        return zip(positions, sizes).map { p, s in
            if let last, abs(p - last.position) < (last.size + s) / 2 + gap { return false }
            last = (p, s)
            return true
        }
    }

    static func xAxis(_ axis: Axis, box: Box) -> [String] {
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

    static func yAxis(_ axis: Axis, box: Box) -> [String] {
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
    static func referenceLines(_ refs: [(label: String, value: Double)], axis: Axis, box: Box) -> [String] {
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

    enum Swatch {
        /// `markers[i]`: whether series i is drawn with markers, so its legend entry looks the same.
        case line(markers: [Bool])
        case block
    }

    static func legend(_ names: [String], swatch: Swatch, box: Box) -> [String] {
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
