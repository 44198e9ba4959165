internal import CRewrapZlib
import NIOCore

/// gzip bodies (kas-server.md §2.4), the only zlib calls of the server. Decompression is bounded:
/// a small wire body that inflates past `limit` (a gzip bomb) stops at the limit, having
/// allocated at most the limit, and is refused as `resource_exhausted`.
enum Gzip {
    enum Failure: Error, Equatable {
        /// Not a gzip stream, or a corrupt one: `invalid_argument`.
        case corrupt
        /// The inflated size passed the limit; the size reached so far.
        case tooLarge(atLeast: Int)
    }

    /// Inflates `input` (one or more gzip members) into a new buffer.
    static func decompress(_ input: ByteBuffer, limit: Int, allocator: ByteBufferAllocator) throws(Failure) -> ByteBuffer {
        var stream = z_stream()
        // 15 window bits + 16: gzip framing only (a zlib or raw deflate stream is not gzip).
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt
        }
        defer { inflateEnd(&stream) }
        // Start near the usual ratio for JSON and protobuf text (~4×), grow by doubling; one
        // byte past the limit is room enough to tell "exactly the limit" from "more".
        var output = allocator.buffer(capacity: min(limit + 1, max(1024, input.readableBytes * 4)))
        var result: Result<Void, Failure> = .success(())
        input.withUnsafeReadableBytes { compressed in
            stream.next_in = UnsafeMutablePointer(mutating: compressed.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(compressed.count)
            while true {
                guard output.readableBytes <= limit else {
                    result = .failure(.tooLarge(atLeast: output.readableBytes))
                    return
                }
                if output.writableBytes == 0 {
                    output.reserveCapacity(min(limit + 1, output.capacity * 2))
                }
                var status: Int32 = Z_OK
                let budget = limit + 1 - output.readableBytes
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: 1) { space in
                    let room = min(space.count, budget)
                    stream.next_out = space.bindMemory(to: Bytef.self).baseAddress
                    stream.avail_out = uInt(room)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return room - Int(stream.avail_out)
                }
                switch status {
                case Z_STREAM_END:
                    guard output.readableBytes <= limit else {
                        result = .failure(.tooLarge(atLeast: output.readableBytes))
                        return
                    }
                    // Concatenated members are one body (RFC 1952 §2.2); anything else after a
                    // member fails as corrupt when inflated.
                    if stream.avail_in == 0 { return }
                    guard inflateReset(&stream) == Z_OK else { result = .failure(.corrupt); return }
                case Z_OK:
                    continue
                default:
                    // Z_BUF_ERROR with output room left means the input ended inside a member
                    // (truncated); Z_DATA_ERROR a corrupt stream.
                    result = .failure(.corrupt)
                    return
                }
            }
        }
        try result.get()
        return output
    }

    /// Compresses `input` as one gzip member at the fastest level, with a window and hash no
    /// larger than the input needs. A rewrap answer is mostly wrapped keys, which are
    /// ciphertext: levels above 1 buy nothing on it, and zlib's full-size state (about 256 KiB
    /// to allocate and clear) cost more than compressing a small answer.
    static func compress(_ input: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var stream = z_stream()
        // 2^windowBits ≥ the input (zlib allows 9…15); memLevel sizes the hash to match.
        let needed = Int.bitWidth - max(input.readableBytes - 1, 1).leadingZeroBitCount
        let windowBits = Int32(min(15, max(9, needed)))
        let memLevel = windowBits - 7
        guard deflateInit2_(&stream, Z_BEST_SPEED, Z_DEFLATED, windowBits + 16, memLevel, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            preconditionFailure("deflateInit2 failed: out of memory")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.readableBytes)))
        var output = allocator.buffer(capacity: bound)
        input.withUnsafeReadableBytes { plain in
            stream.next_in = UnsafeMutablePointer(mutating: plain.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(plain.count)
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { space in
                stream.next_out = space.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(space.count)
                // deflateBound guarantees one call finishes the stream.
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "deflate did not finish within deflateBound")
                return space.count - Int(stream.avail_out)
            }
        }
        return output
    }
}
