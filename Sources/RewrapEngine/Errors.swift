import RewrapWire

/// A per-KAO failure, rendered exactly as the Go KAS renders it (spec §4.4): the SDK classifies
/// results by substring, so the text is part of the wire contract. Anything that depends on
/// secret material is `badRequest` and nothing more.
public struct KAOError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case invalidArgument
        case permissionDenied
        case `internal`

        var connectName: String {
            switch self {
            case .invalidArgument: return "invalid_argument"
            case .permissionDenied: return "permission_denied"
            case .internal: return "internal"
            }
        }

        var grpcName: String {
            switch self {
            case .invalidArgument: return "InvalidArgument"
            case .permissionDenied: return "PermissionDenied"
            case .internal: return "Internal"
            }
        }
    }

    public let code: Code
    /// The gRPC status `desc`.
    public let detail: String
    /// The full string placed in the result's `error` field.
    public let wireString: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
        switch code {
        case .internal:
            wireString = "internal: internal error\nrpc error: code = Internal desc = \(detail)"
        default:
            wireString = "\(code.connectName): request error\nrpc error: code = \(code.grpcName) desc = \(detail)"
        }
    }

    public var description: String { wireString }

    // The rows of spec §4.4 that concern one KAO or one policy. Built once: a failing KAO
    // allocates nothing for its error.
    public static let badRequest = KAOError(.invalidArgument, "bad request")
    public static let keyAccessObjectNil = KAOError(.invalidArgument, "key access object is nil")
    public static let wrappedKeyEmpty = KAOError(.invalidArgument, "wrapped key is empty")
    public static let ecWrappedNotEnabled = KAOError(.invalidArgument, "ec-wrapped not enabled")
    public static let invalidEphemeralPublicKey = KAOError(.invalidArgument, "invalid ephemeral public key")
    public static let unsupportedECKeySize = KAOError(.invalidArgument, "unsupported EC key size")
    public static let invalidEphemeralPublicKeyPEM = KAOError(.invalidArgument, "invalid ephemeral public key PEM")
    public static let ephemeralKeyNotEC = KAOError(.invalidArgument, "ephemeral key is not EC")
    public static let invalidECPublicKey = KAOError(.invalidArgument, "invalid EC public key")
    public static let noLegacyKeyIDs = KAOError(.invalidArgument, "no legacy key IDs found")
    public static let unsupportedKeyType = KAOError(.invalidArgument, "unsupported key type")
    public static let missingPolicyBinding = KAOError(.invalidArgument, "missing policy binding")
    public static let forbidden = KAOError(.permissionDenied, "forbidden")
    public static let pdpDenied = KAOError(.permissionDenied, "forbidden: pdp-denied")
    public static let authServiceUnavailable = KAOError(.internal, "internal: auth-service-unavailable")
    public static let contextCancelled = KAOError(.internal, "internal: context-cancelled")
    public static let invalidRequest = KAOError(.invalidArgument, "invalid request")
    public static let badKeyForRewrap = KAOError(.invalidArgument, "bad key for rewrap")
    /// Our size limits (not in the Go KAS, which has none). Descriptive, never "bad request".
    public static let ephemeralKeyTooLarge = KAOError(.invalidArgument, "ephemeral public key exceeds the size limit")
    public static let wrappedKeyTooLarge = KAOError(.invalidArgument, "wrapped key exceeds the size limit")
    public static let policyTooLarge = KAOError(.invalidArgument, "policy exceeds the size limit")
}

/// A failure of the whole request (spec §4.4, "top-level" rows): served as a Connect error
/// envelope, no per-KAO results.
public struct RewrapRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case invalidArgument = "invalid_argument"
        case resourceExhausted = "resource_exhausted"
        case unauthenticated = "unauthenticated"
        /// Only as a v1 body's per-KAO failure turned into the RPC error (spec §3.5).
        case permissionDenied = "permission_denied"
        case `internal`

        var grpcName: String {
            switch self {
            case .invalidArgument: return "InvalidArgument"
            case .resourceExhausted: return "ResourceExhausted"
            case .unauthenticated: return "Unauthenticated"
            case .permissionDenied: return "PermissionDenied"
            case .internal: return "Internal"
            }
        }

        /// The HTTP status Connect uses for the code.
        public var httpStatus: Int {
            switch self {
            case .invalidArgument: return 400
            case .resourceExhausted: return 429
            case .unauthenticated: return 401
            case .permissionDenied: return 403
            case .internal: return 500
            }
        }
    }

    public let code: Code
    public let detail: String
    /// The Connect envelope's `message`: `request error\nrpc error: code = X desc = detail`.
    public let message: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
        self.message = "request error\nrpc error: code = \(code.grpcName) desc = \(detail)"
    }

    /// A v1 body's one KAO failed: the KAO's error is the RPC's (spec §3.5), with the code and
    /// message the Go KAS returns; the per-KAO string is the Go rendering `<code>: <message>`.
    init(kaoFailure wireString: String) {
        let known: [Code] = [.invalidArgument, .permissionDenied, .internal]
        let code = known.first { wireString.hasPrefix("\($0.rawValue): ") } ?? .internal
        self.code = code
        let message = wireString.hasPrefix("\(code.rawValue): ") ? String(wireString.dropFirst(code.rawValue.utf8.count + 2)) : wireString
        self.message = message
        if let range = message.range(of: "desc = ") {
            detail = String(message[range.upperBound...])
        } else {
            detail = message
        }
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// `{"code": …, "message": …}` as Connect sends it, strings escaped as the response's are
    /// (every control character escaped, so any detail still makes valid JSON).
    public var connectJSON: String {
        var json = JSONWriter(capacity: 48 + message.utf8.count)
        json.raw("{")
        json.key("code")
        json.string(code.rawValue)
        json.raw(",")
        json.key("message")
        json.string(message)
        json.raw("}")
        return String(decoding: json.bytes, as: UTF8.self)
    }

    public static let missingRequestBody = RewrapRequestError(.invalidArgument, "missing request body")
    public static let invalidRequestBody = RewrapRequestError(.invalidArgument, "invalid request body")
    public static let clientPublicKeyFailure = RewrapRequestError(.invalidArgument, "clientPublicKey failure")
    public static let clientPublicKeyParseFailure = RewrapRequestError(.invalidArgument, "clientPublicKey parse failure")
    public static let clientPublicKeyUnsupportedType = RewrapRequestError(.invalidArgument, "clientPublicKey unsupported type")

    static func limitExceeded(_ what: String, _ limit: Int) -> RewrapRequestError {
        RewrapRequestError(.resourceExhausted, "\(what) exceeds the limit of \(limit)")
    }
}
