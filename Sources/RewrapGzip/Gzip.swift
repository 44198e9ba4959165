internal import CRewrapZlib
import NIOCore
import Synchronization

/// gzip bodies (kas-server.md §2.4), the only zlib calls of the project: the server's request
/// and answer bodies, and the load generator's (`rewrap-bench load`). Decompression is bounded:
/// a small wire body that inflates past `limit` (a gzip bomb) stops at the limit, having
/// allocated at most the limit, and is refused as `resource_exhausted`.
package enum Gzip {
    package enum Failure: Error, Equatable {
        /// Not a gzip stream, or a corrupt one: `invalid_argument`.
        case corrupt
        /// The inflated size passed the limit; the size reached so far.
        case tooLarge(atLeast: Int)
    }

    /// Inflates `input` (one or more gzip members) into a new buffer.
    ///
    /// The output is sized from the last member's ISIZE trailer (RFC 1952 §2.3.1: the input's
    /// length mod 2^32), a hint only: never past `limit + 1`, and a wrong one costs a regrow, not
    /// a wrong answer. When it is right, one `Z_FINISH` call inflates the whole body straight
    /// into its buffer (zlib then needs no sliding window, unless this stream grew one on an
    /// earlier body that took several calls); streams are reused (`Inflaters`), so a request
    /// allocates only its output.
    package static func decompress(_ input: ByteBuffer, limit: Int, allocator: ByteBufferAllocator) throws(Failure) -> ByteBuffer {
        let inflater = Inflaters.shared.take()
        defer { Inflaters.shared.give(inflater) }
        let stream = inflater.stream
        var result: Result<Void, Failure> = .success(())
        var output = allocator.buffer(capacity: 0)
        input.withUnsafeReadableBytes { compressed in
            // The hint is believed only as far as deflate can expand (at most 1032:1), so a
            // small body cannot make us reserve the whole limit; one byte past the limit is room
            // enough to tell "exactly the limit" from "more".
            let trailer = compressed.count >= 18
                ? Int(UInt32(littleEndian: compressed.loadUnaligned(fromByteOffset: compressed.count - 4, as: UInt32.self))) : 0
            let hint = min(trailer, compressed.count * 1032)
            output.reserveCapacity(min(limit + 1, max(hint + 1, 1024)))
            stream.pointee.next_in = UnsafeMutablePointer(mutating: compressed.bindMemory(to: Bytef.self).baseAddress)
            stream.pointee.avail_in = uInt(compressed.count)
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
                    stream.pointee.next_out = space.bindMemory(to: Bytef.self).baseAddress
                    stream.pointee.avail_out = uInt(room)
                    status = inflate(stream, Z_FINISH)
                    return room - Int(stream.pointee.avail_out)
                }
                switch status {
                case Z_STREAM_END:
                    guard output.readableBytes <= limit else {
                        result = .failure(.tooLarge(atLeast: output.readableBytes))
                        return
                    }
                    // Concatenated members are one body (RFC 1952 §2.2); anything else after a
                    // member fails as corrupt when inflated.
                    if stream.pointee.avail_in == 0 { return }
                    guard inflateReset(stream) == Z_OK else { result = .failure(.corrupt); return }
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.pointee.avail_out == 0:
                    // Out of room (Z_FINISH says Z_BUF_ERROR when it could not finish): grow.
                    continue
                default:
                    // Z_BUF_ERROR with room left means the input ended inside a member
                    // (truncated); Z_DATA_ERROR a corrupt stream.
                    result = .failure(.corrupt)
                    return
                }
            }
        }
        try result.get()
        return output
    }

    /// Idle inflate streams, reset for the next body. A stream's state is ~7 KiB plus, once a
    /// body needed it, a 32 KiB window; building and freeing that per request was most of what
    /// a small body's inflate cost. At most `capacity` are kept (the engine's threads are the
    /// callers; a burst beyond them builds a stream and frees it).
    private final class Inflaters: Sendable {
        static let shared = Inflaters(capacity: 16)
        private let idle = Mutex<[Inflater]>([])
        private let capacity: Int

        init(capacity: Int) { self.capacity = capacity }

        func take() -> Inflater {
            if let inflater = idle.withLock({ $0.popLast() }), inflater.reset() { return inflater }
            return Inflater()
        }

        func give(_ inflater: Inflater) {
            idle.withLock { if $0.count < capacity { $0.append(inflater) } }
        }
    }

    /// One z_stream for gzip inflation, at a stable address (zlib's state points back at it).
    private final class Inflater: @unchecked Sendable {
        // @unchecked: used by one caller at a time — `Inflaters` hands it out under its lock.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

        init() {
            stream.initialize(to: z_stream())
            // 15 window bits + 16: gzip framing only (a zlib or raw deflate stream is not gzip).
            guard inflateInit2_(stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                preconditionFailure("inflateInit2 failed: out of memory")
            }
        }

        /// Ready for a new body (drops what a failed one left); false if zlib refused.
        func reset() -> Bool { inflateReset(stream) == Z_OK }

        deinit {
            inflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
    }

    /// Compresses `input` as one gzip member at the fastest level, with a window and hash no
    /// larger than the input needs: zlib's full-size state (about 256 KiB to allocate and clear)
    /// cost more than compressing a small answer. Huffman coding alone is no faster here (it
    /// codes every byte as a literal) and compresses a rewrap answer far less (its repeated
    /// field names and metadata keys: 0.93 against 0.61 of the size at batch 64).
    package static func compress(_ input: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
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
