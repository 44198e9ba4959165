internal import COpenSSL

/// A fixed-size buffer for secrets (DEKs, shared secrets, derived keys, private-key PEM text).
///
/// The memory is zeroed with `OPENSSL_cleanse` when the buffer is released, so a secret never
/// outlives its owner in the heap. It is a reference type so one allocation can hold many
/// secrets (the engine keeps all DEKs of a request in one buffer) and be written from several
/// worker threads; concurrent writers must use disjoint ranges, which is why it is
/// `@unchecked Sendable`.
public final class SecureBytes: @unchecked Sendable {
    public let count: Int
    @usableFromInline let base: UnsafeMutableRawPointer

    /// A zero-filled buffer of `count` bytes.
    public init(count: Int) {
        precondition(count >= 0, "SecureBytes count must not be negative")
        self.count = count
        self.base = .allocate(byteCount: Swift.max(count, 1), alignment: 16)
        self.base.initializeMemory(as: UInt8.self, repeating: 0, count: Swift.max(count, 1))
    }

    /// A copy of `bytes`. The caller remains responsible for wiping its own copy.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        if let source = bytes.baseAddress, bytes.count > 0 {
            base.copyMemory(from: source, byteCount: bytes.count)
        }
    }

    public convenience init(copying bytes: [UInt8]) {
        self.init(count: bytes.count)
        bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    deinit {
        OPENSSL_cleanse(base, Swift.max(count, 1))
        base.deallocate()
    }

    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    @inlinable
    public func withUnsafeMutableBytes<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    /// A view of `range` inside the buffer, for the package's own callers that pack several
    /// secrets into one buffer and keep the view for the buffer's lifetime (a worker's scratch, a
    /// request's DEKs). Not public: outside the package memory is lent only inside a closure.
    @inlinable
    package func slice(_ range: Range<Int>) -> UnsafeMutableRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "SecureBytes slice out of bounds")
        return UnsafeMutableRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// Zero the whole buffer now (it is zeroed again on release).
    public func wipe() { OPENSSL_cleanse(base, Swift.max(count, 1)) }

    /// Copies the secret out. Only for tests and for callers handing the secret to an API that
    /// needs an array (and then wiping it); the engine never does this on its hot path.
    public func copyBytes() -> [UInt8] { withUnsafeBytes { Array($0) } }
}

/// Wipes a temporary array that held secret bytes.
package func secureWipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { buffer in
        if let base = buffer.baseAddress { OPENSSL_cleanse(base, buffer.count) }
    }
}

/// Wipes a secret held in memory the caller owns.
package func secureWipe(_ buffer: UnsafeMutableRawBufferPointer) {
    if let base = buffer.baseAddress, buffer.count > 0 { OPENSSL_cleanse(base, buffer.count) }
}
