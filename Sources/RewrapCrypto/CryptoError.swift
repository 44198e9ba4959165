internal import COpenSSL

/// The crypto layer's errors. Messages describe *public* facts only (formats, sizes, curves);
/// failures that depend on secret material are all `.decryptionFailed`, with no detail.
public enum CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not a key of a kind we accept; the string says which check failed.
    case invalidKey(String)
    /// A key type, size or curve outside RSA 2048–4096 / P-256, P-384, P-521.
    case unsupportedAlgorithm(String)
    /// An EC point that is malformed, not on the curve, on another curve, or the identity.
    case invalidPoint
    /// Decryption or authentication failed. Deliberately carries nothing else.
    case decryptionFailed
    /// Wrong input length for a fixed-size primitive.
    case invalidLength(String)
    /// OpenSSL failed where it should not (allocation, provider missing).
    case openSSL(String)

    public var description: String {
        switch self {
        case .invalidKey(let why): return "invalid key: \(why)"
        case .unsupportedAlgorithm(let what): return "unsupported algorithm: \(what)"
        case .invalidPoint: return "invalid EC point"
        case .decryptionFailed: return "decryption failed"
        case .invalidLength(let what): return "invalid length: \(what)"
        case .openSSL(let what): return "OpenSSL failure: \(what)"
        }
    }

    /// Drops OpenSSL's thread-local error queue so a failed operation leaves nothing behind
    /// (the queue would otherwise grow on every bad KAO).
    @inline(__always)
    static func clearQueue() { ERR_clear_error() }

    static func openSSLFailure(_ operation: String) -> CryptoError {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return .openSSL(operation) }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return .openSSL("\(operation): \(text)")
    }
}
