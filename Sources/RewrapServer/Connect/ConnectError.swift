import NIOCore
import NIOHTTP1
import RewrapWire

/// A Connect error code (kas-server.md §2.6): its wire name, HTTP status and gRPC number.
public enum ConnectCode: String, Sendable, CaseIterable {
    case canceled, unknown
    case invalidArgument = "invalid_argument"
    case deadlineExceeded = "deadline_exceeded"
    case notFound = "not_found"
    case alreadyExists = "already_exists"
    case permissionDenied = "permission_denied"
    case resourceExhausted = "resource_exhausted"
    case failedPrecondition = "failed_precondition"
    case aborted
    case outOfRange = "out_of_range"
    case unimplemented
    case `internal`
    case unavailable
    case dataLoss = "data_loss"
    case unauthenticated

    /// connect-go `protocol_connect.go:1281-1320`.
    public var httpStatus: Int {
        switch self {
        case .canceled: return 499
        case .unknown, .internal, .dataLoss: return 500
        case .invalidArgument, .failedPrecondition, .outOfRange: return 400
        case .deadlineExceeded: return 504
        case .notFound: return 404
        case .alreadyExists, .aborted: return 409
        case .permissionDenied: return 403
        case .resourceExhausted: return 429
        case .unimplemented: return 501
        case .unavailable: return 503
        case .unauthenticated: return 401
        }
    }

    public var grpcStatus: Int {
        switch self {
        case .canceled: return 1
        case .unknown: return 2
        case .invalidArgument: return 3
        case .deadlineExceeded: return 4
        case .notFound: return 5
        case .alreadyExists: return 6
        case .permissionDenied: return 7
        case .resourceExhausted: return 8
        case .failedPrecondition: return 9
        case .aborted: return 10
        case .outOfRange: return 11
        case .unimplemented: return 12
        case .internal: return 13
        case .unavailable: return 14
        case .dataLoss: return 15
        case .unauthenticated: return 16
        }
    }
}

/// An RPC failure as Connect sends it: the status of its code, `Content-Type: application/json`
/// whatever the request's codec, and `{"code":…,"message":…}` uncompressed (kas-server.md §2.6).
/// Headers attached to an error (`WWW-Authenticate`, `DPoP-Nonce`) are ordinary headers.
public struct ConnectError: Error, Sendable, CustomStringConvertible {
    public var code: ConnectCode
    public var message: String
    public var headers: [(String, String)]

    public init(_ code: ConnectCode, _ message: String, headers: [(String, String)] = []) {
        self.code = code
        self.message = message
        self.headers = headers
    }

    /// `code: message`, as the Go client renders it.
    public var description: String { message.isEmpty ? code.rawValue : "\(code.rawValue): \(message)" }

    /// The JSON body; `message` omitted when empty (connect-go `protocol_connect.go:728-754`).
    /// Escaped as Go's encoding/json escapes (`<`, `>`, `&` too), so the bytes match the Go KAS's.
    public var body: [UInt8] {
        var json = JSONWriter(capacity: 32 + message.utf8.count, escaping: .goHTMLSafe)
        json.raw("{")
        json.key("code")
        json.string(code.rawValue)
        if !message.isEmpty {
            json.raw(",")
            json.key("message")
            json.string(message)
        }
        json.raw("}")
        return json.bytes
    }

    /// A request-level failure with the Go KAS's rendering: `request error\nrpc error: code = X desc = detail`.
    static func request(_ code: ConnectCode, grpcName: String, detail: String) -> ConnectError {
        ConnectError(code, "request error\nrpc error: code = \(grpcName) desc = \(detail)")
    }

    // The transport's own errors, with connect-go's texts.
    static func messageTooLarge(_ size: Int, limit: Int) -> ConnectError {
        ConnectError(.resourceExhausted, "message size \(size) is larger than configured max \(limit)")
    }

    static let busy = ConnectError(.resourceExhausted, "server busy: too many requests in flight")
    static let queueFull = ConnectError(.resourceExhausted, "server busy: too many key access objects queued")
    static let deadline = ConnectError(.deadlineExceeded, "the request's deadline passed before its answer was ready")
    static let shuttingDown = ConnectError(.unavailable, "the server is shutting down")
    static let internalError = ConnectError(.internal, "internal error")
}
