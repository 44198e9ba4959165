import NIOCore
import RewrapGzip
import Testing

/// `Gzip` (RewrapGzip, the server's and the load generator's): bodies inflate within their limit whatever the trailer claims,
/// and what `/bin/gzip` writes inflates as well as our own answers do.
@Suite struct GzipTests {
    private let allocator = ByteBufferAllocator()

    private func bytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var state = seed
        return (0..<count).map { index in
            // Half text-like (compressible), half noise, as a rewrap body is.
            if index % 2 == 0 { return UInt8(ascii: "a") + UInt8(index % 26) }
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    private func compressed(_ plain: [UInt8]) -> ByteBuffer {
        Gzip.compress(allocator.buffer(bytes: plain), allocator: allocator)
    }

    @Test func roundTripsAtEverySize() throws {
        for count in [0, 1, 100, 1024, 70_000, 300_000] {
            let plain = bytes(count)
            let inflated = try Gzip.decompress(compressed(plain), limit: 1 << 20, allocator: allocator)
            #expect(Array(inflated.readableBytesView) == plain, "\(count) bytes")
            let foreign = try Gzip.decompress(allocator.buffer(bytes: try gzip(plain)), limit: 1 << 20, allocator: allocator)
            #expect(Array(foreign.readableBytesView) == plain, "\(count) bytes from /bin/gzip")
        }
    }

    /// Two members are one body (RFC 1952 §2.2). The trailer's size is the last member's only,
    /// so the output sized from it must grow: the hint is never trusted as the answer.
    @Test func concatenatedMembersOutgrowTheTrailerHint() throws {
        let first = bytes(200_000, seed: 2), second = bytes(10, seed: 3)
        var body = compressed(first)
        var tail = compressed(second)
        body.writeBuffer(&tail)
        let inflated = try Gzip.decompress(body, limit: 1 << 20, allocator: allocator)
        #expect(Array(inflated.readableBytesView) == first + second)
    }

    /// A trailer that lies about the size is corrupt (zlib checks ISIZE); one that claims the
    /// whole limit for a tiny body does not make the reader reserve it, and is refused.
    @Test func aLyingTrailerIsCorrupt() {
        var body = compressed(bytes(5_000))
        body.moveWriterIndex(to: body.writerIndex - 4)
        body.writeInteger(UInt32(16 << 20), endianness: .little)
        #expect(throws: Gzip.Failure.corrupt) { try Gzip.decompress(body, limit: 16 << 20, allocator: allocator) }
    }

    @Test func theLimitIsExact() throws {
        let plain = [UInt8](repeating: 0x20, count: 100_000)
        let body = compressed(plain)
        #expect(try Gzip.decompress(body, limit: 100_000, allocator: allocator).readableBytes == 100_000)
        #expect(throws: Gzip.Failure.tooLarge(atLeast: 100_000)) { try Gzip.decompress(body, limit: 99_999, allocator: allocator) }
    }

    @Test func truncatedAndForeignStreamsAreCorrupt() {
        var body = compressed(bytes(5_000))
        body.moveWriterIndex(to: body.writerIndex - 9)
        #expect(throws: Gzip.Failure.corrupt) { try Gzip.decompress(body, limit: 1 << 20, allocator: allocator) }
        #expect(throws: Gzip.Failure.corrupt) {
            try Gzip.decompress(allocator.buffer(string: "not gzip at all, not at all"), limit: 1 << 20, allocator: allocator)
        }
    }

    /// A stream left mid-body by a failure is reset before its next use (the pool reuses it).
    @Test func aFailedBodyDoesNotSpoilTheNext() throws {
        var broken = compressed(bytes(50_000))
        broken.moveWriterIndex(to: broken.writerIndex / 2)
        for _ in 0..<32 {
            #expect(throws: Gzip.Failure.corrupt) { try Gzip.decompress(broken, limit: 1 << 20, allocator: allocator) }
            let plain = bytes(3_000, seed: 9)
            #expect(Array(try Gzip.decompress(compressed(plain), limit: 1 << 20, allocator: allocator).readableBytesView) == plain)
        }
    }
}
