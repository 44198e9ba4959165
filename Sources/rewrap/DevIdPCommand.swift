import ArgumentParser
import Foundation
import Logging
import RewrapAuth
import RewrapCrypto
import RewrapDevIdP
import ServiceLifecycle

struct DevIdP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-idp",
        abstract: "Run a throwaway OpenID issuer on loopback that hands out access tokens (client credentials, optional DPoP).",
        discussion: """
        Serves GET /.well-known/openid-configuration, GET /jwks and POST /token \
        (grant_type=client_credentials; client id and secret by HTTP Basic or in the form). Tokens carry iss \
        (this server's URL), aud, sub and azp (the client id), iat, exp, jti, and cnf.jkt when the token \
        request carries a valid DPoP proof (typ dpop+jwt, an asymmetric alg, a public jwk, htm POST, htu = \
        the token URL, fresh iat); the token_type is then DPoP. The signing key is generated at start and \
        lives in memory only, so tokens do not survive a restart. Loopback only. SIGTERM or SIGINT (Ctrl-C) \
        shuts down gracefully.

        Examples:
          rewrap dev-idp                       # 127.0.0.1:8888, opentdf:secret
          rewrap dev-idp --port 0 --alg ES256  # any free port (printed)
          rewrap dev-idp --client sdk:s3cret --client cli:other \\
            --audience https://kas.example
          rewrap dev-idp --token-lifetime 30s  # watch tokens expire

        Get a token (HTTP Basic, or the credentials in the form):
          curl -s -u opentdf:secret -d grant_type=client_credentials \\
            http://127.0.0.1:8888/token
          curl -s -d grant_type=client_credentials -d client_id=opentdf \\
            -d client_secret=secret http://127.0.0.1:8888/token
        """)

    @Option(help: "Loopback address to bind: 127.0.0.1, ::1 or localhost.") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port, printed at start).") var port = 8888
    @Option(help: "The tokens' aud (the KAS's server.auth.audience).") var audience = "http://localhost:8080"
    @Option(name: .customLong("client"), help: "A client as id:secret (repeatable).") var clients: [String] = ["opentdf:secret"]
    @Option(help: "Signing algorithm: RS256 (RSA-2048) or ES256 (P-256).") var alg = "RS256"
    @Option(help: "Token lifetime: seconds, or with s, m or h (300, 90s, 5m, 1h).") var tokenLifetime = "5m"

    func validate() throws {
        guard DevIdPServer.isLoopback(host) else { throw ValidationError(DevIdPError.notLoopback(host).description) }
        guard ["RS256", "ES256"].contains(alg) else { throw ValidationError("--alg must be RS256 or ES256, not '\(alg)'") }
        guard Self.seconds(tokenLifetime) != nil else {
            throw ValidationError("--token-lifetime '\(tokenLifetime)' is not a positive duration like 300, 90s, 5m or 1h")
        }
        _ = try Self.parseClients(clients)
    }

    static func seconds(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600]
        var digits = Substring(text), unit: Int64 = 1
        if let last = text.last, let scale = units[last] {
            digits = digits.dropLast()
            unit = scale
        }
        guard let value = Int64(digits), value > 0, value <= 7 * 86_400 / unit else { return nil }
        return value * unit
    }

    static func parseClients(_ specs: [String]) throws -> [String: String] {
        var clients: [String: String] = [:]
        for spec in specs {
            guard let colon = spec.firstIndex(of: ":"), colon != spec.startIndex, spec.index(after: colon) != spec.endIndex else {
                throw ValidationError("--client '\(spec)' must be id:secret")
            }
            clients[String(spec[..<colon])] = String(spec[spec.index(after: colon)...])
        }
        return clients
    }

    func run() async throws {
        let configuration = DevIdentityProvider.Configuration(
            clients: try Self.parseClients(clients), audience: audience,
            algorithm: alg == "ES256" ? .es256 : .rs256, tokenLifetime: Self.seconds(tokenLifetime)!)
        let server = try await DevIdPServer.start(host: host, port: port, configuration: configuration)
        print("dev-idp listening on \(server.provider.issuer) (issuer \(server.provider.issuer), \(alg) key \(server.provider.keyID), audience \(audience), clients \(configuration.clients.keys.sorted().joined(separator: ", ")))")
        fflush(nil)
        var logger = Logger(label: "rewrap.dev-idp", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        var group = ServiceGroupConfiguration(
            services: [DevIdPService(server: server)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(10)
        try await ServiceGroup(configuration: group).run()
    }
}

/// The dev IdP as a service: serves until the group's graceful shutdown, then drains.
struct DevIdPService: Service, CustomStringConvertible {
    let server: DevIdPServer
    var description: String { "dev-idp on port \(server.port)" }

    func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await server.waitUntilFinished()
            } onGracefulShutdown: {
                server.beginGracefulShutdown()
            }
        } onCancel: {
            server.cancel()
        }
        guard server.isShuttingDown else { throw DevIdPStopped() }
    }
}

struct DevIdPStopped: Error, CustomStringConvertible {
    var description: String { "the dev IdP stopped serving without a shutdown request" }
}
