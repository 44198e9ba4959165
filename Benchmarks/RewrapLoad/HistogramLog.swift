import Foundation
import Histogram
import RewrapBenchKit
import RewrapGzip

/// HdrHistogram's standard interchange: the V2 compressed histogram encoding and the interval log
/// (`HistogramLogWriter`, log format 1.3), so each `--segment` process's latencies can be merged
/// exactly (`rewrap-bench merge`) and read by any HdrHistogram tool. Values are microseconds.
///
/// V2 encoding (HdrHistogram's `encodeIntoCompressedByteBuffer`): cookie 0x1c849314, the zlib
/// stream's length, then zlib of: cookie 0x1c849313, payload length, normalizing index offset,
/// significant digits (int32, big-endian), lowest and highest trackable value (int64), the
/// integer-to-double ratio (float64), and the counts in index order as ZigZag LEB128, a run of
/// n > 1 empty buckets written as −n. The tests check it against HdrHistogram's Python port.
package enum HistogramCodec {
    static let cookie: UInt32 = 0x1c84_9313
    static let compressedCookie: UInt32 = 0x1c84_9314

    /// The bucket layout of a histogram (HdrHistogram's `countsArrayIndex` arithmetic).
    struct Layout {
        let unitMagnitude: Int
        let subBucketHalfCountMagnitude: Int
        let subBucketHalfCount: Int
        let subBucketMask: UInt64
        let leadingZeroCountBase: Int

        init(lowest: UInt64, digits: Int) {
            let largestSingleUnit = 2 * UInt64(pow(10.0, Double(digits)).rounded())
            let subBucketCountMagnitude = Int(ceil(log2(Double(largestSingleUnit))))
            unitMagnitude = Int(floor(log2(Double(max(lowest, 1)))))
            subBucketHalfCountMagnitude = max(subBucketCountMagnitude, 1) - 1
            subBucketHalfCount = 1 << subBucketHalfCountMagnitude
            subBucketMask = UInt64((1 << subBucketCountMagnitude) - 1) << unitMagnitude
            leadingZeroCountBase = 64 - unitMagnitude - subBucketCountMagnitude
        }

        func index(of value: UInt64) -> Int {
            let bucket = leadingZeroCountBase - (value | subBucketMask).leadingZeroBitCount
            let subBucket = Int(value >> UInt64(bucket + unitMagnitude))
            return ((bucket + 1) << subBucketHalfCountMagnitude) + (subBucket - subBucketHalfCount)
        }

        /// The lowest value of bucket `index`.
        func value(at index: Int) -> UInt64 {
            var bucket = (index >> subBucketHalfCountMagnitude) - 1
            var subBucket = (index & (subBucketHalfCount - 1)) + subBucketHalfCount
            if bucket < 0 {
                subBucket -= subBucketHalfCount
                bucket = 0
            }
            return UInt64(subBucket) << UInt64(bucket + unitMagnitude)
        }
    }

    package struct Failure: Error, CustomStringConvertible {
        package let description: String
        init(_ description: String) { self.description = description }
    }

    /// base64 of the compressed V2 encoding.
    package static func encode(_ recorder: LatencyRecorder) -> String {
        let histogram = recorder.histogram
        let digits = Int(histogram.numberOfSignificantValueDigits.rawValue)
        let layout = Layout(lowest: histogram.lowestDiscernibleValue, digits: digits)
        var counts: [UInt64] = []
        for bucket in histogram.recordedValues() where bucket.count > 0 {
            let index = layout.index(of: bucket.value)
            if counts.count <= index { counts += repeatElement(0, count: index + 1 - counts.count) }
            counts[index] += bucket.count
        }
        var payload: [UInt8] = []
        var index = 0
        while index < counts.count {
            let count = counts[index]
            index += 1
            var zeros = 0
            if count == 0 {
                zeros = 1
                while index < counts.count, counts[index] == 0 {
                    zeros += 1
                    index += 1
                }
            }
            putZigZag(zeros > 1 ? -Int64(zeros) : Int64(count), into: &payload)
        }
        var plain: [UInt8] = []
        put32(cookie, into: &plain)
        put32(UInt32(payload.count), into: &plain)
        put32(0, into: &plain)
        put32(UInt32(digits), into: &plain)
        put64(histogram.lowestDiscernibleValue, into: &plain)
        put64(histogram.highestTrackableValue, into: &plain)
        put64((1.0).bitPattern, into: &plain)
        plain += payload
        let compressed = Zlib.compress(plain)
        var out: [UInt8] = []
        put32(compressedCookie, into: &out)
        put32(UInt32(compressed.count), into: &out)
        return Data(out + compressed).base64EncodedString()
    }

    /// Adds the histogram in `text` (base64 of the compressed V2 encoding) to `recorder`; returns
    /// how many values it held. Histograms of another layout are re-bucketed by value.
    @discardableResult
    package static func decode(_ text: Substring, into recorder: inout LatencyRecorder) throws(Failure) -> UInt64 {
        guard text.utf8.count < 8 << 20, let data = Data(base64Encoded: String(text)), data.count >= 8 else {
            throw Failure("not a base64 histogram")
        }
        let bytes = [UInt8](data)
        guard get32(bytes, 0) == compressedCookie else { throw Failure("not a compressed V2 histogram (cookie)") }
        let length = Int(get32(bytes, 4))
        guard length == bytes.count - 8 else { throw Failure("compressed length \(length) does not match the \(bytes.count - 8) bytes") }
        let plain: [UInt8]
        do { plain = try Zlib.decompress(Array(bytes[8...]), limit: 16 << 20) } catch { throw Failure("the zlib stream is corrupt") }
        guard plain.count >= 40, get32(plain, 0) == cookie else { throw Failure("not a V2 histogram (cookie)") }
        let payloadLength = Int(get32(plain, 4))
        guard payloadLength == plain.count - 40, get32(plain, 8) == 0 else { throw Failure("unexpected payload length or index offset") }
        let digits = Int(get32(plain, 12))
        let lowest = get64(plain, 16)
        guard (0...5).contains(digits), lowest >= 1, lowest < 1 << 40 else { throw Failure("unsupported precision or range") }
        let layout = Layout(lowest: lowest, digits: digits)
        var cursor = 40
        var index = 0
        var total: UInt64 = 0
        while cursor < plain.count {
            guard let value = getZigZag(plain, &cursor) else { throw Failure("truncated counts") }
            if value < 0 {
                index += Int(-value)
            } else {
                if value > 0 {
                    recorder.record(microseconds: layout.value(at: index), count: UInt64(value))
                    total += UInt64(value)
                }
                index += 1
            }
            guard index < 1 << 24 else { throw Failure("counts beyond any histogram's range") }
        }
        return total
    }

    // MARK: bytes

    private static func put32(_ value: UInt32, into out: inout [UInt8]) {
        out += [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    private static func put64(_ value: UInt64, into out: inout [UInt8]) {
        put32(UInt32(value >> 32), into: &out)
        put32(UInt32(value & 0xffff_ffff), into: &out)
    }

    private static func get32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func get64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        UInt64(get32(bytes, at)) << 32 | UInt64(get32(bytes, at + 4))
    }

    /// HdrHistogram's ZigZagEncoding.putLong: LEB128 of the ZigZag value, the ninth byte whole.
    private static func putZigZag(_ value: Int64, into out: inout [UInt8]) {
        var v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        for _ in 0..<8 {
            if v >> 7 == 0 {
                out.append(UInt8(v))
                return
            }
            out.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v & 0xff))
    }

    private static func getZigZag(_ bytes: [UInt8], _ cursor: inout Int) -> Int64? {
        var v: UInt64 = 0
        for shift in stride(from: 0, to: 56, by: 7) {
            guard cursor < bytes.count else { return nil }
            let byte = bytes[cursor]
            cursor += 1
            v |= UInt64(byte & 0x7f) << UInt64(shift)
            if byte & 0x80 == 0 { return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }
        }
        guard cursor < bytes.count else { return nil }
        v |= UInt64(bytes[cursor]) << 56
        cursor += 1
        return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
    }
}

/// Writes an HdrHistogram interval log (format 1.3), one line per interval:
/// `start,length,max,histogram` (seconds from the log's StartTime; max in ms, as values are µs).
package final class HistogramLogWriter: Sendable {
    private let handle: FileHandle
    package let startTime: Date

    package init(path: String, startTime: Date, comment: String) throws(LoadError) {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw LoadError("cannot write the histogram log \(path)")
        }
        self.handle = handle
        self.startTime = startTime
        let epoch = startTime.timeIntervalSince1970
        let header = """
            #[\(comment)]
            #[Histogram log format version 1.3]
            #[StartTime: \(String(format: "%.3f", epoch)) (seconds since epoch), \(ISO8601DateFormatter().string(from: startTime))]
            "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"

            """
        handle.write(Data(header.utf8))
    }

    /// One interval: `start` seconds after the log's StartTime, `length` seconds long.
    package func append(start: Double, length: Double, _ histogram: LatencyRecorder) {
        let max = histogram.count > 0 ? histogram.percentile(100) / 1000 : 0
        handle.write(Data(String(format: "%.3f,%.3f,%.3f,%@\n", start, length, max, HistogramCodec.encode(histogram)).utf8))
    }

    package func close() { try? handle.close() }
}

/// Reads interval logs back: every interval's histogram, at its absolute time.
package enum HistogramLogReader {
    package struct Interval: Sendable {
        /// Seconds since the epoch.
        package var start: Double
        package var length: Double
        package var histogram: LatencyRecorder
    }

    package static func read(path: String) throws(LoadError) -> [Interval] {
        guard let data = FileManager.default.contents(atPath: path), data.count < 1 << 30 else {
            throw LoadError("cannot read the histogram log \(path)")
        }
        var base = 0.0
        var intervals: [Interval] = []
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if line.hasPrefix("#[StartTime: ") || line.hasPrefix("#[BaseTime: ") {
                let value = line.drop { $0 != " " }.dropFirst().prefix { $0 != " " }
                if let seconds = Double(value) { base = seconds }
                continue
            }
            if line.hasPrefix("#") || line.hasPrefix("\"") { continue }
            var fields = line.split(separator: ",", omittingEmptySubsequences: false)
            if fields.first?.hasPrefix("Tag=") == true { fields.removeFirst() }
            guard fields.count == 4, let start = Double(fields[0]), let length = Double(fields[1]) else {
                throw LoadError("\(path):\(number + 1): not an interval line (start,length,max,histogram)")
            }
            var histogram = LatencyRecorder()
            do { try HistogramCodec.decode(fields[3], into: &histogram) } catch {
                throw LoadError("\(path):\(number + 1): \(error)")
            }
            intervals.append(Interval(start: base + start, length: length, histogram: histogram))
        }
        return intervals
    }
}
