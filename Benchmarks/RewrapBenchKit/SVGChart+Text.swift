import Foundation

/// Labels and text: compact numbers, byte-stable coordinates, XML escaping, truncation.
extension SVGChart {
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
    static func tickLabels(_ ticks: [Double]) -> [String] {
        let compact = ticks.map(formatNumber)
        guard Set(compact).count < compact.count else { return compact }
        let gap = zip(ticks, ticks.dropFirst()).map { abs($1 - $0) }.filter { $0 > 0 }.min() ?? 1
        let decimals = min(12, max(0, Int((-log10(gap)).rounded(.up))))
        return ticks.map { fixed($0, decimals: decimals) }
    }

    /// `%.Nf` without trailing zeros; `String(format:)` is locale-independent, so the bytes are stable.
    static func fixed(_ v: Double, decimals: Int) -> String {
        var s = String(format: "%.\(decimals)f", v)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }

    /// Coordinates: always one decimal, so output is byte-stable and small.
    static func num(_ v: Double) -> String {
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

    static func truncated(_ s: String, _ maxChars: Int) -> String {
        s.count <= maxChars ? s : String(s.prefix(max(0, maxChars - 1))) + "…"
    }
}
