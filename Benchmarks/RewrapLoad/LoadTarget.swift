/// One KAS the generator sends to: `http[s]://host[:port][/prefix]` as the user wrote it (its path
/// is the routing prefix the KAS serves under).
package struct LoadTarget: Sendable, Equatable, CustomStringConvertible {
    /// https: TLS (ALPN http/1.1).
    package let tls: Bool
    package let host: String
    package let port: Int
    /// "" or "/kas" (no trailing slash).
    package let prefix: String

    package init?(url text: String) {
        if text.hasPrefix("http://") {
            tls = false
        } else if text.hasPrefix("https://") {
            tls = true
        } else {
            return nil
        }
        let defaultPort = tls ? 443 : 80
        var rest = Substring(text.dropFirst(tls ? "https://".count : "http://".count))
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        while path.hasSuffix("/") { path.removeLast() }
        guard !rest.isEmpty, !rest.contains("@"), !path.contains("?"), !path.contains("#") else { return nil }
        if rest.hasPrefix("[") {
            // [v6]:port
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.isEmpty { port = defaultPort } else {
                guard after.hasPrefix(":"), let value = Int(after.dropFirst()), (1...65535).contains(value) else { return nil }
                port = value
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let value = Int(rest[rest.index(after: colon)...]), (1...65535).contains(value) else { return nil }
            port = value
        } else {
            host = String(rest)
            port = defaultPort
        }
        guard !host.isEmpty else { return nil }
        prefix = path
    }

    /// The Host header: host[:port] (brackets around an IPv6 address).
    package var authority: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (tls ? 443 : 80) ? name : "\(name):\(port)"
    }

    package func path(_ procedure: String) -> String { prefix + procedure }

    /// What every Rewrap to this target carries, built once rather than per request: the Host
    /// header, the request path and the DPoP `htu`.
    package struct RewrapStrings: Sendable {
        package let authority: String
        package let path: String
        package let url: String
    }

    package var rewrapStrings: RewrapStrings {
        RewrapStrings(authority: authority, path: path(KASProcedure.rewrap), url: url(KASProcedure.rewrap))
    }

    /// The absolute URL of a procedure: what a DPoP proof's `htu` names.
    package func url(_ procedure: String) -> String { "\(scheme)://\(authority)\(path(procedure))" }

    package var scheme: String { tls ? "https" : "http" }

    /// The name TLS verifies and sends as SNI: nil for an IP address (RFC 6066 §3 forbids it as SNI;
    /// the certificate must then name the address).
    package var serverName: String? {
        host.contains(":") || host.split(separator: ".").allSatisfy({ UInt8($0) != nil }) ? nil : host
    }

    package var description: String { "\(scheme)://\(authority)\(prefix)" }
}

/// Connect procedure paths (kas-server.md §2).
package enum KASProcedure {
    package static let rewrap = "/kas.AccessService/Rewrap"
    package static let publicKey = "/kas.AccessService/PublicKey"
}
