import Foundation
import RewrapServer
import Yams

/// `rewrap serve --config FILE`: the Go KAS's setting names where it has them (kas-server.md §6),
/// every one optional; flags override the file.
///
/// ```yaml
/// server:
///   host: 127.0.0.1            # "" = every interface
///   port: 8080
///   prefix: /kas               # also serve under this routing prefix
///   event_loops: 1             # network I/O threads (default: half the cores)
///   tls: {enabled: true, cert: server.crt, key: server.key}
///   auth:
///     issuer: http://127.0.0.1:8888
///     audience: http://localhost:8080
///     skew: 1m
///     dpopskew: 1h
///     cache_refresh_interval: 15m
///     dpop: {enforce: false, require_nonce: false, nonce_expiration: 5m, strict_htu: false}
///   http: {readHeaderTimeout: 10s, idleTimeout: 60s, requestTimeout: 9s, shutdownGrace: 5s}
///   limits: {max_message_bytes: 16777216, max_requests_in_flight: 128, max_queued_kaos: 8192}
/// services:
///   kas:
///     keyring: keys/keyring.yaml   # or
///     db: rewrap-keys.sqlite
///     ec_tdf_enabled: true
/// logger: {level: info, type: json}
/// ```
struct ServeSettings: Decodable {
    struct Server: Decodable {
        var host: String?
        var port: Int?
        var prefix: String?
        var event_loops: Int?
        var tls: TLS?
        var auth: Auth?
        var http: HTTP?
        var limits: Limits?
    }

    struct TLS: Decodable {
        var enabled: Bool?
        var cert: String?
        var key: String?
    }

    struct Auth: Decodable {
        var issuer: String?
        var audience: String?
        var skew: String?
        var dpopskew: String?
        var cache_refresh_interval: String?
        var dpop: DPoP?
    }

    struct DPoP: Decodable {
        var enforce: Bool?
        var require_nonce: Bool?
        var nonce_expiration: String?
        var strict_htu: Bool?
    }

    struct HTTP: Decodable {
        var readHeaderTimeout: String?
        var idleTimeout: String?
        var requestTimeout: String?
        var shutdownGrace: String?
    }

    struct Limits: Decodable {
        var max_message_bytes: Int?
        var max_requests_in_flight: Int?
        var max_queued_kaos: Int?
        var max_connections: Int?
    }

    struct Services: Decodable {
        var kas: KAS?
    }

    struct KAS: Decodable {
        var keyring: String?
        var db: String?
        var ec_tdf_enabled: Bool?
    }

    struct LoggerSettings: Decodable {
        var level: String?
        var type: String?
    }

    var server: Server?
    var services: Services?
    var logger: LoggerSettings?

    /// Files larger than this are not configuration.
    static let maxFileBytes = 1 << 20

    static func load(_ path: String) throws -> ServeSettings {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CLIError("cannot read --config \(path): \((error as NSError).localizedDescription)")
        }
        guard data.count <= maxFileBytes else { throw CLIError("--config \(path) is larger than 1 MiB") }
        do {
            return try YAMLDecoder().decode(ServeSettings.self, from: data)
        } catch {
            throw CLIError("--config \(path): \(error)")
        }
    }

    /// Relative paths in the file are relative to the file.
    static func resolve(_ path: String?, relativeTo file: String?) -> String? {
        guard let path, !path.hasPrefix("/"), let file else { return path }
        return URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(path).path
    }
}

/// Go duration strings as the Go KAS's settings use them: `90s`, `1m`, `1h30m`, `250ms`.
func parseDuration(_ text: String, setting: String) throws -> Duration {
    var rest = Substring(text.trimmingCharacters(in: .whitespaces))
    guard !rest.isEmpty else { throw CLIError("\(setting): empty duration") }
    var total = Duration.zero
    while !rest.isEmpty {
        let digits = rest.prefix { $0.isNumber || $0 == "." }
        guard let value = Double(digits), value >= 0 else { throw CLIError("\(setting): '\(text)' is not a duration like 30s, 5m or 1h") }
        rest = rest.dropFirst(digits.count)
        let unit = rest.prefix { $0.isLetter }
        rest = rest.dropFirst(unit.count)
        let scale: Double
        switch unit {
        case "ms": scale = 0.001
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        default: throw CLIError("\(setting): '\(text)' is not a duration like 30s, 5m or 1h (units ms, s, m, h)")
        }
        total += .milliseconds(Int64((value * scale * 1000).rounded()))
    }
    return total
}
