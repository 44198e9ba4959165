/// One KAS the generator sends to: `http://host[:port][/prefix]` as the user wrote it (its path is
/// the routing prefix the KAS serves under).
package struct LoadTarget: Sendable, Equatable, CustomStringConvertible {
    package let host: String
    package let port: Int
    /// "" or "/kas" (no trailing slash).
    package let prefix: String

    package init?(url text: String) {
        guard text.hasPrefix("http://") else { return nil }
        var rest = Substring(text.dropFirst("http://".count))
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
            if after.isEmpty { port = 80 } else {
                guard after.hasPrefix(":"), let value = Int(after.dropFirst()), (1...65535).contains(value) else { return nil }
                port = value
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let value = Int(rest[rest.index(after: colon)...]), (1...65535).contains(value) else { return nil }
            port = value
        } else {
            host = String(rest)
            port = 80
        }
        guard !host.isEmpty else { return nil }
        prefix = path
    }

    /// The Host header: host[:port] (brackets around an IPv6 address).
    package var authority: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    package func path(_ procedure: String) -> String { prefix + procedure }

    /// The absolute URL of a procedure: what a DPoP proof's `htu` names.
    package func url(_ procedure: String) -> String { "http://\(authority)\(path(procedure))" }

    package var description: String { "http://\(authority)\(prefix)" }
}

/// Connect procedure paths (kas-server.md §2).
package enum KASProcedure {
    package static let rewrap = "/kas.AccessService/Rewrap"
    package static let publicKey = "/kas.AccessService/PublicKey"
}
