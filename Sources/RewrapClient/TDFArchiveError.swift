import RewrapCrypto

/// Why a .tdf could not be written or read. Messages name files, fields and sizes, never key
/// material or field values.
public enum TDFArchiveError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The data is not a ZIP archive.
    case notAZip
    /// A required ZIP entry (`0.manifest.json`, `0.payload`) is absent.
    case missingEntry(String)
    /// A ZIP entry's declared or actual size passes the bound.
    case entryTooLarge(String, limit: Int)
    /// A ZIP entry could not be read back intact (bad CRC, truncated, size differs from the header).
    case unreadableEntry(String)
    /// The manifest is not JSON.
    case badJSON
    /// A required manifest field is absent or null (dotted path).
    case missingField(String)
    /// A manifest field has the wrong type or an undecodable value (dotted path).
    case invalidField(String)
    /// More KAOs than `TDFArchive.maxKeyAccessObjects`.
    case tooManyKeyAccessObjects(Int)
    /// A writer argument is out of range.
    case invalidArgument(String)
    /// A payload segment does not match its manifest hash or fails AES-GCM authentication.
    case segmentIntegrity(index: Int)
    /// The DEK does not reproduce the manifest's root signature.
    case rootSignatureMismatch
    /// A cryptographic operation failed while writing.
    case crypto(CryptoError)
    /// The folder could not be listed.
    case cannotList(String)

    public var description: String {
        switch self {
        case .notAZip: return "not a TDF: the data is not a ZIP archive"
        case .missingEntry(let name): return "not a TDF: the ZIP has no \(name)"
        case .entryTooLarge(let name, let limit): return "\(name) is larger than the \(limit)-byte limit"
        case .unreadableEntry(let name): return "\(name) is corrupt in the ZIP (size or CRC-32 mismatch)"
        case .badJSON: return "the manifest is not valid JSON"
        case .missingField(let path): return "the manifest has no \(path)"
        case .invalidField(let path): return "the manifest's \(path) is invalid"
        case .tooManyKeyAccessObjects(let count):
            return "the manifest has \(count) key access objects (at most \(TDFArchive.maxKeyAccessObjects))"
        case .invalidArgument(let why): return "cannot write the TDF: \(why)"
        case .segmentIntegrity(let index): return "payload segment \(index) failed its integrity check"
        case .rootSignatureMismatch: return "the key does not match the TDF's root signature"
        case .crypto(let error): return "cannot write the TDF: \(error)"
        case .cannotList(let path): return "cannot list the folder \(path)"
        }
    }
}
