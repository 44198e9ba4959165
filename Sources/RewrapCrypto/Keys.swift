import Synchronization

/// Serial numbers let per-thread context caches key on a key object without holding a
/// dangling address if the key is released and another is allocated at the same place.
private let keySerials = Atomic<UInt64>(1)

func nextSerial() -> UInt64 { keySerials.wrappingAdd(1, ordering: .relaxed).oldValue }

/// `Array.withUnsafeBytes` is `rethrows` (untyped); this keeps `CryptoError` typed.
@inline(__always)
package func withBytes<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(CryptoError) -> R) throws(CryptoError) -> R {
    let result: Result<R, CryptoError> = array.withUnsafeBytes { buffer in
        Result { () throws(CryptoError) -> R in try body(buffer) }
    }
    return try result.get()
}
