import NIOCore
import NIOHTTP1
import RewrapWire

/// Connect's two unary codecs (kas-server.md §2.3).
enum Codec: Sendable {
    case proto, json

    var contentType: String { self == .proto ? "application/proto" : "application/json" }

    /// By `Content-Type`, lower-cased, `charset=utf-8` allowed on JSON (connect-go `protocol.go:361-399`).
    init?(contentType: String) {
        // What every SDK sends, without the general parse's lower-casing and splitting.
        switch contentType {
        case "application/proto": self = .proto; return
        case "application/json": self = .json; return
        default: break
        }
        let parts = contentType.lowercased().split(separator: ";", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: [" ", "\t"]) }
        switch parts.first {
        case "application/proto" where parts.count == 1: self = .proto
        case "application/json" where parts.count == 1 || (parts.count == 2 && parts[1] == "charset=utf-8"): self = .json
        default: return nil
        }
    }

    /// What a 415 lists in `Accept-Post`.
    static let acceptPost = "application/json, application/proto"
}

/// One Connect unary call, as far as the request head (and, for GET, the query) tells: what to
/// decode, how to answer, by when. Checked before the body is read, in connect-go's order.
struct ConnectCall: Sendable {
    var procedure: Procedure
    var codec: Codec
    var requestIsGzip: Bool
    /// The answer may be gzipped (kas-server.md §2.4: mirror the request's encoding, else the
    /// first supported name in `Accept-Encoding`).
    var responseMayGzip: Bool
    /// `Connect-Timeout-Ms` as a duration, clamped by the server's request timeout.
    var timeout: Duration?
    /// Connect GET: the message from the query (still compressed if `compression=gzip`).
    var queryMessage: ByteBuffer?
    var isGET: Bool { queryMessage != nil }

    /// Everything a Connect error or success answer carries besides its body.
    func responseHeaders(success: Bool) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: success ? codec.contentType : "application/json")
        headers.add(name: "Accept-Encoding", value: "gzip")
        if isGET { headers.add(name: "Vary", value: "Accept-Encoding") }
        return headers
    }

    /// A call to go on with, or the complete answer to a head that fails the protocol's rules.
    enum Start {
        case call(ConnectCall)
        case answer(ServerResponse)
    }

    /// Reads the head of a request routed to `procedure`. A failure is the complete answer.
    static func start(_ head: HTTPRequestHead, procedure: Procedure, query: Substring?,
                      allocator: ByteBufferAllocator) -> ConnectCall.Start {
        switch head.method {
        case .POST:
            break
        case .GET where procedure.allowsGET:
            return startGET(head, procedure: procedure, query: query ?? "", allocator: allocator)
        default:
            var headers = HTTPHeaders()
            headers.add(name: "Allow", value: procedure.allowHeader)
            return .answer(ServerResponse(status: .methodNotAllowed, headers: headers))
        }
        guard let contentType = head.headers.first(name: "content-type"), let codec = Codec(contentType: contentType) else {
            var headers = HTTPHeaders()
            headers.add(name: "Accept-Post", value: Codec.acceptPost)
            return .answer(ServerResponse(status: .unsupportedMediaType, headers: headers))
        }
        var call = ConnectCall(procedure: procedure, codec: codec, requestIsGzip: false, responseMayGzip: false)
        func fail(_ error: ConnectError) -> ConnectCall.Start {
            .answer(ServerResponse.error(error, call: call, allocator: allocator))
        }
        if let version = head.headers.first(name: "connect-protocol-version"), version != "1" {
            return fail(ConnectError(.invalidArgument, "connect-protocol-version must be \"1\": got \"\(version)\""))
        }
        if let timeout = head.headers.first(name: "connect-timeout-ms") {
            guard let duration = parseTimeout(timeout) else {
                return fail(ConnectError(.invalidArgument, "protocol error: invalid connect-timeout-ms \"\(timeout)\""))
            }
            call.timeout = duration
        }
        let encoding = head.headers.first(name: "content-encoding")?.lowercased() ?? "identity"
        switch encoding {
        case "identity", "": break
        case "gzip": call.requestIsGzip = true
        default:
            return fail(ConnectError(.unimplemented, "unknown compression \"\(encoding)\": supported encodings are gzip"))
        }
        call.responseMayGzip = acceptsGzip(head.headers, requestEncoding: encoding)
        return .call(call)
    }

    /// Connect GET (kas-server.md §2.7): `connect=v1&encoding=json|proto&message=…[&base64=1][&compression=gzip]`.
    private static func startGET(_ head: HTTPRequestHead, procedure: Procedure, query: Substring,
                                 allocator: ByteBufferAllocator) -> ConnectCall.Start {
        // A GET carries no body (connect-go `handler.go:297-310`).
        if let length = head.headers.first(name: "content-length"), length != "0" {
            return .answer(ServerResponse(status: .unsupportedMediaType, headers: ["Accept-Post": Codec.acceptPost]))
        }
        if head.headers.contains(name: "transfer-encoding") {
            return .answer(ServerResponse(status: .unsupportedMediaType, headers: ["Accept-Post": Codec.acceptPost]))
        }
        let parameters = QueryString.parse(query)
        var call = ConnectCall(procedure: procedure, codec: .json, requestIsGzip: false, responseMayGzip: false,
                               queryMessage: allocator.buffer(capacity: 0))
        func fail(_ error: ConnectError) -> ConnectCall.Start {
            .answer(ServerResponse.error(error, call: call, allocator: allocator))
        }
        if let version = parameters["connect"], version != "v1" {
            return fail(ConnectError(.invalidArgument, "connect must be \"v1\": got \"\(version)\""))
        }
        guard let encoding = parameters["encoding"] else { return fail(ConnectError(.invalidArgument, "missing encoding parameter")) }
        switch encoding {
        case "json": call.codec = .json
        case "proto": call.codec = .proto
        default: return fail(ConnectError(.invalidArgument, "invalid message encoding: \"\(encoding)\""))
        }
        guard let message = parameters["message"] else { return fail(ConnectError(.invalidArgument, "missing message parameter")) }
        let base64 = parameters["base64"] == "1"
        if let compression = parameters["compression"], compression != "identity" {
            guard compression == "gzip" else {
                return fail(ConnectError(.unimplemented, "unknown compression \"\(compression)\": supported encodings are gzip"))
            }
            call.requestIsGzip = true
        }
        var bytes = allocator.buffer(capacity: message.utf8.count)
        if base64 {
            guard let decoded = Base64.decode(Substring(message), options: .protoJSON) else {
                return fail(ConnectError(.invalidArgument, "invalid base64 message parameter"))
            }
            bytes.writeBytes(decoded)
        } else {
            bytes.writeString(message)
        }
        call.queryMessage = bytes
        if let timeout = head.headers.first(name: "connect-timeout-ms") {
            guard let duration = parseTimeout(timeout) else {
                return fail(ConnectError(.invalidArgument, "protocol error: invalid connect-timeout-ms \"\(timeout)\""))
            }
            call.timeout = duration
        }
        call.responseMayGzip = acceptsGzip(head.headers, requestEncoding: "identity")
        return .call(call)
    }

    /// ≤ 10 ASCII digits of milliseconds (connect-go `protocol_connect.go:117-134`).
    static func parseTimeout(_ text: String) -> Duration? {
        guard !text.isEmpty, text.utf8.count <= 10, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let milliseconds = Int64(text) else { return nil }
        return .milliseconds(milliseconds)
    }

    /// `Accept-Encoding` is an ordered list without q-values; absent, the request's own
    /// encoding is what the client accepts.
    static func acceptsGzip(_ headers: HTTPHeaders, requestEncoding: String) -> Bool {
        headers.list(named: "accept-encoding", contains: "gzip") ?? (requestEncoding == "gzip")
    }
}

/// `application/x-www-form-urlencoded` query parsing as Go's `url.ParseQuery` does it: `+` is a
/// space, percent-escapes decoded, the first value of a repeated name wins.
enum QueryString {
    static func parse(_ query: Substring) -> [String: String] {
        var result: [String: String] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]) else { continue }
            let value = parts.count > 1 ? decode(parts[1]) : ""
            if result[name] == nil, let value { result[name] = value }
        }
        return result
    }

    static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(0x20)
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
