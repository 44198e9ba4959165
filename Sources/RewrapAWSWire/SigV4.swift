import Foundation
import RewrapCrypto
import RewrapWire

/// AWS Signature Version 4 (header form), as AWS JSON services such as KMS require. Signs and
/// verifies: the client signs every request, the simulated KMS can check signatures.
public struct SigV4: Sendable {
    public struct Credentials: Sendable, Equatable {
        public var accessKeyID: String
        public var secretAccessKey: String
        public var sessionToken: String?

        public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }

        /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
        public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Credentials? {
            guard let id = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"],
                  !id.isEmpty, !secret.isEmpty
            else { return nil }
            return Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"])
        }
    }

    /// What is signed: method, path, query and headers as sent, and the body.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(String, String)]
        /// Header names in any case; each is signed.
        public var headers: [(String, String)]
        public var body: [UInt8]

        public init(method: String, path: String = "/", query: [(String, String)] = [], headers: [(String, String)], body: [UInt8]) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }
    }

    public var credentials: Credentials
    public var region: String
    public var service: String

    public init(credentials: Credentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func amzDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// The `Authorization` header value for `request`, which must already carry `host` and
    /// `x-amz-date` (and `x-amz-security-token` with temporary credentials).
    public func authorization(for request: Request) -> String {
        let (signedHeaders, signature) = sign(request)
        let scope = credentialScope(date: dateStamp(of: request))
        return "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    /// Adds `X-Amz-Date`, `X-Amz-Security-Token` (when set) and `Authorization` to `headers`.
    public func signedHeaders(method: String, path: String, headers: [(String, String)], body: [UInt8], date: Date) -> [(String, String)] {
        var headers = headers
        headers.append(("X-Amz-Date", Self.amzDate(date)))
        if let token = credentials.sessionToken { headers.append(("X-Amz-Security-Token", token)) }
        let authorization = authorization(for: Request(method: method, path: path, headers: headers, body: body))
        headers.append(("Authorization", authorization))
        return headers
    }

    // MARK: The algorithm

    func dateStamp(of request: Request) -> String {
        String(header("x-amz-date", in: request.headers)?.prefix(8) ?? "")
    }

    func credentialScope(date: String) -> String { "\(date)/\(region)/\(service)/aws4_request" }

    /// Returns (signed header list, hex signature).
    func sign(_ request: Request) -> (String, String) {
        let (canonical, signedHeaders) = Self.canonicalRequest(request)
        let amzDate = header("x-amz-date", in: request.headers) ?? ""
        let date = String(amzDate.prefix(8))
        let stringToSign = "AWS4-HMAC-SHA256\n\(amzDate)\n\(credentialScope(date: date))\n\(Self.hexSHA256(Array(canonical.utf8)))"
        let worker = CryptoWorker()
        var key = Self.hmac(worker, key: Array("AWS4\(credentials.secretAccessKey)".utf8), Array(date.utf8))
        for part in [region, service, "aws4_request"] { key = Self.hmac(worker, key: key, Array(part.utf8)) }
        let signature = Self.hmac(worker, key: key, Array(stringToSign.utf8))
        secureWipe(&key)
        return (signedHeaders, signature.withUnsafeBytes { String(decoding: Hex.lowercase($0), as: UTF8.self) })
    }

    static func canonicalRequest(_ request: Request) -> (String, String) {
        let headers = request.headers
            .map { (name: $0.0.lowercased(), value: $0.1.split(whereSeparator: \.isWhitespace).joined(separator: " ")) }
            .sorted { $0.name < $1.name }
        var merged: [(name: String, value: String)] = []
        for header in headers {
            if let last = merged.last, last.name == header.name {
                merged[merged.count - 1].value += "," + header.value
            } else {
                merged.append(header)
            }
        }
        let signedHeaders = merged.map(\.name).joined(separator: ";")
        let canonicalHeaders = merged.map { "\($0.name):\($0.value)\n" }.joined()
        let encodedQuery: [(name: String, value: String)] = request.query.map { (uriEncode($0.0), uriEncode($0.1)) }
        let sortedQuery = encodedQuery.sorted { (a, b) -> Bool in a.name == b.name ? a.value < b.value : a.name < b.name }
        let query: String = sortedQuery.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        let segments: [String] = request.path.split(separator: "/", omittingEmptySubsequences: false).map { uriEncode(String($0)) }
        let path: String = segments.joined(separator: "/")
        let parts: [String] = [request.method.uppercased(), path.isEmpty ? "/" : path, query, canonicalHeaders, signedHeaders,
                               hexSHA256(request.body)]
        let canonical = parts.joined(separator: "\n")
        return (canonical, signedHeaders)
    }

    /// RFC 3986 unreserved characters stay; everything else is %XX (uppercase).
    static func uriEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func hexSHA256(_ bytes: [UInt8]) -> String {
        String(decoding: CryptoPrimitives.sha256(bytes).withUnsafeBytes { Hex.lowercase($0) }, as: UTF8.self)
    }

    static func hmac(_ worker: CryptoWorker, key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                out.withUnsafeMutableBytes { o in
                    // Sizes are fixed and valid; HMAC-SHA256 cannot fail here.
                    try! worker.hmacSHA256(key: k, message: m, into: o)
                }
            }
        }
        return out
    }

    func header(_ name: String, in headers: [(String, String)]) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }
}

extension SigV4 {
    /// Why a signed request is refused, with AWS's error codes.
    public enum VerificationError: Error, Equatable {
        case incompleteSignature
        case invalidClientTokenID
        case signatureDoesNotMatch
        case requestExpired

        public var awsErrorCode: String {
            switch self {
            case .incompleteSignature: return "IncompleteSignatureException"
            case .invalidClientTokenID: return "UnrecognizedClientException"
            case .signatureDoesNotMatch: return "InvalidSignatureException"
            case .requestExpired: return "RequestExpired"
            }
        }
    }

    /// Checks `request`'s `Authorization` header against these credentials, and that its date is
    /// within 15 minutes of `now` (AWS's window).
    public func verify(_ request: Request, now: Date) throws(VerificationError) {
        guard let authorization = header("authorization", in: request.headers),
              authorization.hasPrefix("AWS4-HMAC-SHA256 "),
              let amzDate = header("x-amz-date", in: request.headers)
        else { throw .incompleteSignature }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let signedList = fields["SignedHeaders"], let signature = fields["Signature"]
        else { throw .incompleteSignature }
        let credentialParts = credential.split(separator: "/")
        guard credentialParts.count == 5 else { throw .incompleteSignature }
        guard credentialParts[0] == credentials.accessKeyID else { throw .invalidClientTokenID }
        guard let signedAt = Self.parseAmzDate(amzDate), abs(signedAt.timeIntervalSince(now)) <= 15 * 60 else {
            throw .requestExpired
        }
        let signedNames = Set(signedList.split(separator: ";").map(String.init))
        guard signedNames.contains("host"), signedNames.contains("x-amz-date") else { throw .incompleteSignature }
        var signed = request
        signed.headers = request.headers.filter { signedNames.contains($0.0.lowercased()) }
        let (_, expected) = sign(signed)
        let matches = Array(expected.utf8).withUnsafeBytes { a in
            Array(signature.utf8).withUnsafeBytes { b in CryptoPrimitives.constantTimeEquals(a, b) }
        }
        guard matches, String(credentialParts[1]) == String(amzDate.prefix(8)) else { throw .signatureDoesNotMatch }
    }

    static func parseAmzDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: text)
    }
}
