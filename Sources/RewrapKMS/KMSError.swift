/// Why a KMS call failed, after retries.
public enum KMSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A 4xx answer other than throttling: not retried. `code` is AWS's (e.g. InvalidCiphertextException).
    case rejected(code: String, message: String)
    /// Throttled, 5xx, connection failures or timeouts on every attempt.
    case unavailable(String)
    /// The retry budget is spent (an outage must not multiply the load on KMS).
    case retryBudgetExhausted
    case deadlineExceeded
    /// The calling task was cancelled (the request was abandoned, e.g. its client went away):
    /// no further attempt is made. Like any KMS trouble it is never a wrong DEK.
    case cancelled

    public var description: String {
        switch self {
        case .rejected(let code, let message): return "KMS rejected the request: \(code): \(message)"
        case .unavailable(let why): return "KMS unavailable: \(why)"
        case .retryBudgetExhausted: return "KMS unavailable: retry budget exhausted"
        case .deadlineExceeded: return "KMS unavailable: deadline exceeded"
        case .cancelled: return "KMS call cancelled"
        }
    }

    /// Errors that say the input was wrong (so the KAO is `bad request`), as opposed to KMS
    /// trouble (an internal error, never a wrong DEK).
    public var isInputRejection: Bool {
        guard case .rejected(let code, _) = self else { return false }
        return ["InvalidCiphertextException", "IncorrectKeyException", "ValidationException", "InvalidKeyUsageException"].contains(code)
    }
}

