import ArgumentParser
import Foundation
import Logging
import RewrapAuth
import RewrapEngine
import RewrapKeyRing
import RewrapProviders
import RewrapRegistry
import RewrapServer
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a Connect-RPC KAS (kas.AccessService: Rewrap, PublicKey, LegacyPublicKey; health) that OpenTDF SDKs use.",
        discussion: """
        One port serves HTTP/1.1 and h2c (HTTP/2 with prior knowledge; the Go SDK uses HTTP/1.1, the Java \
        SDK h2c), or TLS with ALPN h2 and http/1.1 when --tls-cert/--tls-key are given. Connect unary with \
        application/proto and application/json, gzip both ways; GET for PublicKey. Paths are at the root \
        (and under --prefix when set): /kas.AccessService/Rewrap, /kas.AccessService/PublicKey, \
        /kas.AccessService/LegacyPublicKey, /grpc.health.v1.Health/Check, GET /healthz.

        Keys: --keyring (a keyring file from `rewrap keys generate`) or --db (the key registry; REMOTE keys \
        go through their provider's key manager, e.g. AWS KMS, exactly as `rewrap request --db`).

        Authentication: access tokens from an OIDC issuer (--issuer, --audience), DPoP-bound or Bearer. \
        --insecure-no-auth switches it off for local development; it is refused unless --host is loopback.

        Settings can come from a YAML file with the Go KAS's names (server.port, server.tls.*, \
        server.auth.*, services.kas.keyring|db; see README); flags override it. SIGTERM or SIGINT stops \
        accepting, lets requests in flight finish (5 s grace), and exits 0.

        Examples:
          # http://127.0.0.1:8080
          rewrap serve --keyring keys/keyring.yaml --insecure-no-auth
          rewrap serve --keyring keys/keyring.yaml --issuer http://127.0.0.1:8888 \\
              --audience http://localhost:8080
          rewrap serve --db rewrap-keys.sqlite --port 9000 --prefix /kas \\
              --log-format json --issuer … --audience …
          rewrap serve --config kas.yaml --tls-cert server.crt --tls-key server.key
          curl -s localhost:8080/kas.AccessService/PublicKey -H \\
              'content-type: application/json' -d '{"algorithm":"ec:secp256r1"}'
        """)

    @Option(help: "YAML settings file (Go KAS setting names); flags override it.") var config: String?
    @Option(help: "Keyring file (YAML or JSON) of KAS keys.") var keyring: String?
    @Option(help: "Key registry database instead of a keyring (root key from REWRAP_ROOT_KEY or --root-key-file).") var db: String?
    @Option(help: "File holding the registry's root key as hex.") var rootKeyFile: String?
    @Option(help: "Address to bind (default 127.0.0.1; \"\" or 0.0.0.0 for every interface).") var host: String?
    @Option(help: "Port (default 8080; 0 picks a free port, printed at start).") var port: Int?
    @Option(help: "Also serve under this routing prefix, e.g. /kas (the root always works).") var prefix: String?
    @Option(help: "Network I/O threads (server.event_loops; default half the cores, at least 1; the engine has a thread per core of its own).")
    var eventLoops: Int?
    @Option(help: "TLS certificate chain (PEM); with --tls-key, serves HTTPS with ALPN h2 and http/1.1.") var tlsCert: String?
    @Option(help: "TLS private key (PEM).") var tlsKey: String?
    @Option(help: "OIDC issuer URL whose access tokens are accepted (server.auth.issuer).") var issuer: String?
    @Option(help: "Audience the access tokens must carry (server.auth.audience).") var audience: String?
    // Named by hand: ArgumentParser would spell `requireDPoP` as --require-d-po-p.
    @Flag(name: .customLong("require-dpop"), help: "Require a DPoP proof on every Rewrap, bound token or not (server.auth.dpop.enforce).")
    var requireDPoP = false
    @Flag(help: "Require server nonces in DPoP proofs, with the challenge/retry headers (server.auth.dpop.require_nonce).")
    var dpopNonce = false
    @Flag(help: "DEVELOPMENT ONLY: no authentication; the SRT is read unverified. Refused unless --host is loopback.")
    var insecureNoAuth = false
    @Flag(help: "Permit policies with data attributes (no PDP is configured; by default they are denied).") var permitAll = false
    @Flag(help: "Refuse ec-wrapped KAOs and EC client keys (the Go KAS without preview.ec_tdf_enabled).") var disableEC = false
    @Option(help: "Log format: text or json.") var logFormat: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String?

    func run() async throws {
        let settings = try config.map(ServeSettings.load)
        var server = ServerConfiguration()
        do {
            try apply(settings, to: &server)
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("rewrap: \(error.description)\n".utf8))
            throw ExitCode(64)
        }
        let (logger, auditLogger) = try makeLoggers(settings)
        let kas = settings?.services?.kas
        let keyringPath = keyring ?? ServeSettings.resolve(kas?.keyring, relativeTo: config)
        let dbPath = db ?? ServeSettings.resolve(kas?.db, relativeTo: config)
        guard (keyringPath == nil) != (dbPath == nil) else {
            throw ValidationError("give exactly one of --keyring and --db (or services.kas.keyring|db in --config)")
        }
        if insecureNoAuth && (issuer != nil || audience != nil) {
            throw ValidationError("--insecure-no-auth and --issuer/--audience exclude each other")
        }

        // Keys, as `rewrap request` builds them: the same function builds the registry's key managers.
        let keys: any KeySource
        let directory: any PublicKeyDirectory
        var providers: ProviderKeyManagers?
        var samplers: [ServerMetrics.Sampler] = []
        do {
            if let keyringPath {
                let ring = try KeyRing.load(file: keyringPath)
                keys = ring
                directory = try KeyRingDirectory(keyRing: ring)
            } else {
                var registry = try RegistryOptions.parse([])
                registry.db = dbPath
                registry.rootKeyFile = rootKeyFile
                let rootKey = try registry.rootKey(required: false)
                if rootKey == nil { logger.warning("no root key (REWRAP_ROOT_KEY or --root-key-file): CONFIG_ROOT_KEY keys will fail") }
                let store = try registry.openStore()
                let built = try ProviderKeyManagers.build(store: store, rootKey: rootKey)
                for provider in built.unsupportedProviders {
                    logger.warning("provider \(provider) uses a key manager this build does not have; its keys will fail")
                }
                providers = built
                let source = RegistryKeySource(store: store, managers: built.managers)
                keys = source
                directory = RegistryDirectory(store: store)
                samplers = Self.samplers(source: source, providers: built, names: (try? store.providers().map(\.name)) ?? [])
            }
        } catch {
            FileHandle.standardError.write(Data("rewrap: \(error)\n".utf8))
            throw ExitCode(78)
        }

        var engineConfiguration = RewrapConfiguration()
        engineConfiguration.ecWrappedEnabled = !disableEC && (kas?.ec_tdf_enabled ?? true)
        engineConfiguration.limits.maxRequestBytes = server.limits.maxMessageBytes
        let engine = RewrapEngine(keys: keys, authorizer: permitAll ? PermitAll() : DenyAttributedPolicies(),
                                  configuration: engineConfiguration)
        let authentication: (any RewrapAuthentication)?
        var services: [any Service] = []
        if insecureNoAuth {
            authentication = nil
        } else {
            guard let issuer = issuer ?? settings?.server?.auth?.issuer, let audience = audience ?? settings?.server?.auth?.audience else {
                throw ValidationError("authentication needs --issuer and --audience (server.auth.issuer|audience); "
                    + "for local development only, --insecure-no-auth on a loopback --host")
            }
            let auth: (settings: AuthenticationSettings, refresh: Duration)
            do {
                auth = try authenticationSettings(settings?.server?.auth, issuer: issuer, audience: audience)
            } catch let error as CLIError {
                FileHandle.standardError.write(Data("rewrap: \(error.description)\n".utf8))
                throw ExitCode(64)
            }
            // kas-server.md §4.2 steps 1–2: discovery and the JWKS at start; either failing stops the start.
            let keys: OIDCKeys
            do {
                keys = try await OIDCKeys.discover(issuer: issuer, fetcher: AsyncHTTPFetcher(), refreshInterval: auth.refresh)
            } catch {
                FileHandle.standardError.write(Data("rewrap: cannot use the OIDC issuer \(issuer): \(error)\n".utf8))
                throw ExitCode(69)
            }
            var verified = auth.settings
            // The discovery document's issuer is the one tokens are checked against (§4.2 step 1).
            verified.token.issuer = keys.issuer
            logger.info("access tokens from \(keys.issuer) (JWKS \(keys.jwksURI), \(keys.keySet.keys.count) keys), audience \(audience)")
            authentication = OIDCAuthentication(authenticator: RequestAuthenticator(settings: verified, keys: keys), logger: logger)
            services.append(JWKSRefresh(keys: keys, logger: logger))
        }

        let kasServer: KASServer
        do {
            kasServer = try KASServer(configuration: server, engine: engine, publicKeys: directory,
                                      authentication: authentication, metrics: .prometheus(samplers: samplers), logger: logger,
                                      auditLogger: auditLogger)
        } catch {
            FileHandle.standardError.write(Data("rewrap: \(error)\n".utf8))
            throw ExitCode(78)
        }
        let scheme = server.tls == nil ? "http" : "https"
        let shown = server.host.isEmpty ? "0.0.0.0" : server.host
        let hostPart = shown.contains(":") ? "[\(shown)]" : shown
        let prefixPart = server.normalizedPrefix
        let announcer = Task {
            if let port = try? await kasServer.listeningPort() {
                print("rewrap serve listening on \(scheme)://\(hostPart):\(port)\(prefixPart)")
                fflush(nil)
            }
        }
        // On SIGTERM the last service stops first: the server drains, then the JWKS refresh ends.
        var group = ServiceGroupConfiguration(services: services + [kasServer], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A shutdown that overruns the grace period by far is turned into a cancellation.
        group.maximumGracefulShutdownDuration = server.timeouts.shutdownGrace + .seconds(5)
        var failure: (any Error)?
        do {
            try await ServiceGroup(configuration: group).run()
        } catch {
            failure = error
        }
        announcer.cancel()
        await providers?.shutdown()
        if let failure {
            FileHandle.standardError.write(Data("rewrap: serve: \(failure)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// `server.auth.*` (kas-server.md §6 defaults: skew 1m, dpopskew 1h, cache_refresh_interval 15m,
    /// dpop.enforce/require_nonce/strict_htu false, nonce_expiration 5m).
    private func authenticationSettings(_ file: ServeSettings.Auth?, issuer: String, audience: String) throws
        -> (settings: AuthenticationSettings, refresh: Duration) {
        func seconds(_ text: String?, _ setting: String, default value: Int64) throws -> Int64 {
            guard let text else { return value }
            return try parseDuration(text, setting: setting).components.seconds
        }
        let token = AccessTokenSettings(issuer: issuer, audience: audience, skew: try seconds(file?.skew, "server.auth.skew", default: 60))
        let dpop = DPoPSettings(
            enforce: requireDPoP || (file?.dpop?.enforce ?? false), requireNonce: dpopNonce || (file?.dpop?.require_nonce ?? false),
            nonceExpiration: try seconds(file?.dpop?.nonce_expiration, "server.auth.dpop.nonce_expiration", default: 300),
            strictHTU: file?.dpop?.strict_htu ?? false,
            dpopSkew: try seconds(file?.dpopskew, "server.auth.dpopskew", default: 3600))
        let refresh = try file?.cache_refresh_interval.map { try parseDuration($0, setting: "server.auth.cache_refresh_interval") }
            ?? .seconds(15 * 60)
        return (AuthenticationSettings(token: token, dpop: dpop), refresh)
    }

    /// Totals kept by the key cache and the KMS clients, read at each `/metrics` scrape.
    static func samplers(source: RegistryKeySource, providers: ProviderKeyManagers, names: [String]) -> [ServerMetrics.Sampler] {
        var samplers: [ServerMetrics.Sampler] = []
        if let cache = source.cache {
            samplers.append {
                let counters = cache.counters
                return [("rewrap_key_cache_hits_total", [], counters.hits), ("rewrap_key_cache_misses_total", [], counters.misses),
                        ("rewrap_key_cache_evictions_total", [], counters.evictions)]
            }
        }
        for name in names {
            guard let client = providers.kmsClient(provider: name) else { continue }
            samplers.append {
                let stats = client.statistics
                let provider = [("provider", name)]
                return [("rewrap_kms_calls_total", provider, stats.calls), ("rewrap_kms_retries_total", provider, stats.retries),
                        ("rewrap_kms_throttles_total", provider, stats.throttled), ("rewrap_kms_failures_total", provider, stats.failures)]
            }
        }
        return samplers
    }

    private func apply(_ settings: ServeSettings?, to server: inout ServerConfiguration) throws {
        let file = settings?.server
        server.host = host ?? file?.host ?? server.host
        if server.host == "0.0.0.0" { server.host = "" }
        server.port = port ?? file?.port ?? server.port
        guard (0...65535).contains(server.port) else { throw CLIError("--port must be 0…65535") }
        server.routingPrefix = prefix ?? file?.prefix ?? ""
        server.eventLoops = eventLoops ?? file?.event_loops ?? server.eventLoops
        guard (1...1024).contains(server.eventLoops) else { throw CLIError("--event-loops must be 1…1024") }
        let cert = tlsCert ?? (file?.tls?.enabled == true ? ServeSettings.resolve(file?.tls?.cert, relativeTo: config) : nil)
        let key = tlsKey ?? (file?.tls?.enabled == true ? ServeSettings.resolve(file?.tls?.key, relativeTo: config) : nil)
        switch (cert, key) {
        case let (cert?, key?): server.tls = .init(certificateChainPath: cert, privateKeyPath: key)
        case (nil, nil): break
        default: throw CLIError("TLS needs both --tls-cert and --tls-key")
        }
        if let http = file?.http {
            if let value = http.readHeaderTimeout { server.timeouts.readHeader = try parseDuration(value, setting: "server.http.readHeaderTimeout") }
            if let value = http.idleTimeout { server.timeouts.idle = try parseDuration(value, setting: "server.http.idleTimeout") }
            if let value = http.requestTimeout { server.timeouts.request = try parseDuration(value, setting: "server.http.requestTimeout") }
            if let value = http.shutdownGrace { server.timeouts.shutdownGrace = try parseDuration(value, setting: "server.http.shutdownGrace") }
        }
        if let limits = file?.limits {
            if let value = limits.max_message_bytes { server.limits.maxMessageBytes = value }
            if let value = limits.max_requests_in_flight { server.limits.maxRequestsInFlight = value }
            if let value = limits.max_queued_kaos { server.limits.maxQueuedKAOs = value }
            if let value = limits.max_connections { server.limits.maxConnections = value }
        }
    }

    /// The server's logger (`rewrap.serve`) and the audit records' (`rewrap.audit`), in one
    /// format at one level.
    private func makeLoggers(_ settings: ServeSettings?) throws -> (server: Logger, audit: Logger) {
        let format = logFormat ?? settings?.logger?.type ?? "text"
        let levelName = logLevel ?? settings?.logger?.level ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        let handler: @Sendable (String) -> any LogHandler
        switch format {
        case "text": handler = { StreamLogHandler.standardError(label: $0) }
        case "json": handler = { JSONLogHandler(label: $0) }
        default: throw ValidationError("--log-format must be text or json")
        }
        var server = Logger(label: "rewrap.serve", factory: handler)
        server.logLevel = level
        var audit = Logger(label: "rewrap.audit", factory: handler)
        audit.logLevel = level
        return (server, audit)
    }
}

/// The JWKS refreshed in the background (kas-server.md §4.2 step 2) until shutdown.
struct JWKSRefresh: Service {
    let keys: OIDCKeys
    let logger: Logger

    func run() async throws {
        let logger = logger
        await cancelWhenGracefulShutdown { [keys] in
            await keys.run { error in logger.warning("JWKS refresh failed (keeping the current keys): \(error)") }
        }
    }
}
