import RewrapWire

/// The `htu` comparison of kas-server.md §4.3 ([P] `dpop_uri.go`): both sides normalised, then
/// compared as strings. RFC 9449 §4.3 check 9 compares "ignoring any query and fragment"; the
/// rest follows RFC 3986 §6.2.2 syntax-based normalisation.
public enum HTU {
    /// The two values a request may be proven for: `http://<host><procedure>` and
    /// `https://<host><procedure>`, since behind a TLS terminator the scheme is unknown. `<host>`
    /// is the `Host`/`:authority`, lower-cased, the scheme's default port removed, IPv6 in brackets.
    public static func expected(authority: String, procedurePath: String) -> [String] {
        guard let (host, port) = splitAuthority(authority) else { return [] }
        let path = normalizedPath(procedurePath) ?? procedurePath
        return [("http", "80"), ("https", "443")].map { scheme, defaultPort in
            "\(scheme)://\(join(host, port == defaultPort ? nil : port))\(path)"
        }
    }

    /// The received `htu` in the comparison form, or nil if it is not an http(s) URL or a path.
    /// A path-only value (starting with `/`) comes back as the normalised path.
    public static func normalize(_ htu: String) -> String? {
        if htu.hasPrefix("/") { return normalizedPath(stripQueryAndFragment(Substring(htu))) }
        guard let colon = htu.firstIndex(of: ":") else { return nil }
        let scheme = htu[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = htu[htu.index(after: colon)...]
        guard rest.hasPrefix("//") else { return nil }
        let afterSlashes = rest.dropFirst(2)
        let authorityEnd = afterSlashes.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterSlashes.endIndex
        let authority = afterSlashes[..<authorityEnd]
        // Userinfo has no place in a request URL (RFC 9110 §4.2.4); refuse rather than strip.
        guard !authority.contains("@"), let (host, port) = splitAuthority(String(authority)) else { return nil }
        let defaultPort = scheme == "http" ? "80" : "443"
        var path = stripQueryAndFragment(afterSlashes[authorityEnd...])
        if path.isEmpty { path = "/" }
        guard let normalized = normalizedPath(path) else { return nil }
        return "\(scheme)://\(join(host, port == defaultPort ? nil : port))\(normalized)"
    }

    /// Whether the received `htu` matches a request to `authority` for `procedurePath`.
    public static func matches(_ htu: String, authority: String, procedurePath: String, strict: Bool) -> Bool {
        guard let received = normalize(htu) else { return false }
        if received.hasPrefix("/") {
            return !strict && received == (normalizedPath(procedurePath) ?? procedurePath)
        }
        return expected(authority: authority, procedurePath: procedurePath).contains(received)
    }

    private static func stripQueryAndFragment(_ text: Substring) -> Substring {
        text[..<(text.firstIndex { $0 == "?" || $0 == "#" } ?? text.endIndex)]
    }

    /// Host lower-cased without brackets, and the port if any (digits only).
    static func splitAuthority(_ authority: String) -> (host: String, port: String?)? {
        var host: Substring, port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = after.dropFirst() } else if !after.isEmpty { return nil }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
            guard !host.contains(":") else { return nil }  // an unbracketed IPv6 address
        } else {
            host = Substring(authority)
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "/" }) else { return nil }
        if let digits = port {
            guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            // Leading zeros name the same port (RFC 3986 §3.2.3); compare the number.
            port = Substring(String(Int(digits)!))
        }
        return (host.lowercased(), port.map(String.init))
    }

    private static func join(_ host: String, _ port: String?) -> String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port.map { "\(bracketed):\($0)" } ?? bracketed
    }

    /// Percent-escapes upper-cased and unreserved ones decoded (RFC 3986 §6.2.2.1–2), then dot
    /// segments removed (§5.2.4). Repeated slashes stay: they name a different path.
    static func normalizedPath<Text: StringProtocol>(_ path: Text) -> String? {
        var out: [UInt8] = []
        let bytes = Array(path.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, let high = Hex.value(of: bytes[index + 1]), let low = Hex.value(of: bytes[index + 2]) else {
                    return nil
                }
                let value = high << 4 | low
                if isUnreserved(value) {
                    out.append(value)
                } else {
                    out.append(contentsOf: [UInt8(ascii: "%"), hexDigit(high), hexDigit(low)])
                }
                index += 3
            } else {
                out.append(byte)
                index += 1
            }
        }
        return removeDotSegments(String(decoding: out, as: UTF8.self))
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") + nibble - 10
    }

    /// RFC 3986 §5.2.4, on segments.
    static func removeDotSegments(_ path: String) -> String {
        var input = Substring(path)
        var output = ""
        while !input.isEmpty {
            if input.hasPrefix("../") { input = input.dropFirst(3) }
            else if input.hasPrefix("./") { input = input.dropFirst(2) }
            else if input.hasPrefix("/./") { input = input.dropFirst(2) }
            else if input == "/." { input = "/" }
            else if input.hasPrefix("/../") {
                input = input.dropFirst(3)
                dropLastSegment(&output)
            } else if input == "/.." {
                input = "/"
                dropLastSegment(&output)
            } else if input == "." || input == ".." {
                input = ""
            } else {
                let start = input.hasPrefix("/") ? input.index(after: input.startIndex) : input.startIndex
                let end = input[start...].firstIndex(of: "/") ?? input.endIndex
                output += input[..<end]
                input = input[end...]
            }
        }
        return output
    }

    private static func dropLastSegment(_ output: inout String) {
        if let slash = output.lastIndex(of: "/") { output = String(output[..<slash]) } else { output = "" }
    }
}
