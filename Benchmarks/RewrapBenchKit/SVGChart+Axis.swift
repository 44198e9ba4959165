import Foundation

/// Axis ranges and ticks: 1/2/5 steps on linear axes, decades (and 2s and 5s) on log axes.
extension SVGChart {
    struct Axis {
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

    static func pad(_ lo: Double, _ hi: Double, _ scale: Scale) -> (Double, Double) {
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

    static func placeable(_ v: Double, on scale: Scale) -> Bool {
        v.isFinite && (scale == .linear || v > 0)
    }
}
