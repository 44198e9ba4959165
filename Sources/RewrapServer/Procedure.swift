/// The RPCs the KAS serves (kas-server.md §1.1), by Connect path.
public enum Procedure: String, Sendable, CaseIterable {
    case rewrap = "/kas.AccessService/Rewrap"
    case publicKey = "/kas.AccessService/PublicKey"
    case legacyPublicKey = "/kas.AccessService/LegacyPublicKey"
    case healthCheck = "/grpc.health.v1.Health/Check"

    /// `NO_SIDE_EFFECTS` RPCs may be called with Connect GET (§2.7); `Rewrap` is POST only.
    var allowsGET: Bool { self == .publicKey || self == .legacyPublicKey }

    /// `Allow` on a 405 (connect-go `protocol.go:270-283`).
    var allowHeader: String { allowsGET ? "GET, POST" : "POST" }

    /// Public routes never look at `Authorization` or `DPoP` (§1.1): SDKs attach both to
    /// PublicKey too.
    var isPublic: Bool { self != .rewrap }

    /// `rpc.service` and `rpc.method` as OpenTelemetry names them (metrics labels).
    var service: String { rawValue.split(separator: "/").first.map(String.init) ?? "" }
    var method: String { rawValue.split(separator: "/").last.map(String.init) ?? "" }
}

/// Where a request path leads.
enum Route: Equatable {
    case rpc(Procedure)
    /// `GET /healthz[?service=…]`.
    case healthz
    /// `GET /metrics`: Prometheus text exposition, when the server has a registry.
    case metrics
    case notFound

    /// Paths are case-sensitive, at the root or under the configured prefix; query strings are
    /// not part of the route.
    static func resolve(path: Substring, prefix: String) -> Route {
        var path = path
        if !prefix.isEmpty, path.hasPrefix(prefix), path.dropFirst(prefix.count).hasPrefix("/") {
            path = path.dropFirst(prefix.count)
        }
        if path == "/healthz" { return .healthz }
        if path == "/metrics" { return .metrics }
        if let procedure = Procedure(rawValue: String(path)) { return .rpc(procedure) }
        return .notFound
    }
}
