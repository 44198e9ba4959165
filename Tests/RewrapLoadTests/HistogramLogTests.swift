import Foundation
import RewrapBenchKit
import RewrapGzip
import Testing
@testable import RewrapLoad

/// `HistogramCodec` (HistogramLog.swift): HdrHistogram's compressed V2 encoding, against a
/// histogram encoded by HdrHistogram's Python port (hdrhistogram 0.10, an independent
/// implementation): `HdrHistogram(1, 60000000, 3)` with 1×1, 5×1000, 2×2047, 3×2048, 7×123456
/// and 1×59999999 recorded, then `encode()`.
@Suite struct HistogramLogTests {
    static let python = "HISTFAAAAC54nJNpmSzMwMAgwAABzFCaEcyZ3M5g/wEqwHSan2u1AAtbfxzfzj5GJgCiGQeY"
    static let values: [(UInt64, UInt64)] = [(1, 1), (1000, 5), (2047, 2), (2048, 3), (123_456, 7), (59_999_999, 1)]

    @Test func decodesWhatHdrHistogramWrote() throws {
        var decoded = LatencyRecorder()
        let count = try HistogramCodec.decode(Self.python[...], into: &decoded)
        #expect(count == 19 && decoded.count == 19)
        // Python's get_value_at_percentile(50) on the same histogram.
        #expect(decoded.percentile(50) == 2049)
        // A histogram keeps each value to its precision (3 digits): so much agreement, no more.
        var direct = LatencyRecorder()
        for (value, count) in Self.values { direct.record(microseconds: value, count: count) }
        for p in [0.0, 10, 40, 50, 60, 90, 99, 100] { #expect(Self.close(decoded.percentile(p), direct.percentile(p)), "p\(p)") }
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= max(a, b) * 1e-3 }

    static func plain(_ text: String) throws -> [UInt8] {
        try Zlib.decompress(Array(Data(base64Encoded: text)!.dropFirst(8)), limit: 1 << 20)
    }

    @Test func roundTripsAndBuildsTheSameBytesAsHdrHistogram() throws {
        var recorder = LatencyRecorder()
        for (value, count) in Self.values { recorder.record(microseconds: value, count: count) }
        let encoded = HistogramCodec.encode(recorder)
        // The same header and counts as HdrHistogram's Python port wrote (which decodes ours to
        // the same buckets, checked by hand at commit time), but for one convention: a single
        // empty bucket is 0 in ours and in the Java original, −1 (a run of one) in Python's.
        var ours = try Self.plain(encoded)
        let theirs = try Self.plain(Self.python)
        #expect(ours.count == theirs.count && ours[40] == 0x00 && theirs[40] == 0x01)
        ours[40] = 0x01
        #expect(ours == theirs)
        var back = LatencyRecorder()
        #expect(try HistogramCodec.decode(encoded[...], into: &back) == 19)
        for p in [0.0, 50, 90, 99, 100] { #expect(Self.close(back.percentile(p), recorder.percentile(p)), "p\(p)") }
        // Empty, and a wide spread with long empty runs.
        var empty = LatencyRecorder()
        #expect(try HistogramCodec.decode(HistogramCodec.encode(LatencyRecorder())[...], into: &empty) == 0)
        var wide = LatencyRecorder()
        for value in stride(from: UInt64(1), to: 60_000_000, by: 9_973) { wide.record(microseconds: value, count: value % 7 + 1) }
        var wideBack = LatencyRecorder()
        #expect(try HistogramCodec.decode(HistogramCodec.encode(wide)[...], into: &wideBack) == UInt64(wide.count))
        for p in stride(from: 0.0, through: 100, by: 5) { #expect(Self.close(wideBack.percentile(p), wide.percentile(p)), "p\(p)") }
    }

    @Test(arguments: ["", "not base64!", "AAAA", "HISTFAAAAC54nJNpmSzMwMAgwAABzFCaEcyZ3M5g", "HISTFAAAAC54" + String(repeating: "A", count: 60)])
    func malformedHistogramsAreRefused(text: String) {
        var recorder = LatencyRecorder()
        #expect(throws: HistogramCodec.Failure.self) { try HistogramCodec.decode(text[...], into: &recorder) }
    }
}
