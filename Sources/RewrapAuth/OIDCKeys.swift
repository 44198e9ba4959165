import Foundation
import Synchronization

/// Why the issuer's configuration or keys could not be had. At start-up any of these means the
/// server must not start (kas-server.md §4.2 steps 1–2).
public enum OIDCError: Error, Sendable, Equatable, CustomStringConvertible {
    case fetch(url: String, HTTPFetchError)
    case status(url: String, Int)
    case discovery(String)
    case jwks(JWKSError)

    public var description: String {
        switch self {
        case .fetch(let url, let error): return "GET \(url): \(error)"
        case .status(let url, let status): return "GET \(url): HTTP \(status)"
        case .discovery(let why): return "OpenID configuration: \(why)"
        case .jwks(let error): return error.description
        }
    }
}

/// The issuer's signing keys, discovered and kept fresh (kas-server.md §4.2 steps 1–2):
/// `GET <issuer>/.well-known/openid-configuration`, then its `jwks_uri` at start (a failure is
/// thrown), then a refetch every `refreshInterval` from `run()`, and on an unknown `kid` at
/// most once per `unknownKidInterval` (the platform never does; §4.2 allows it).
public final class OIDCKeys: JSONWebKeySetSource {
    /// The discovery document's `issuer`: the value `iss` must equal (§4.2 step 1).
    public let issuer: String
    public let jwksURI: String
    public let refreshInterval: Duration
    public let unknownKidInterval: Int64
    private let fetcher: any HTTPFetching
    private let clock: any AuthClock

    struct State {
        var set: JSONWebKeySet
        var lastUnknownKidFetch: Int64?
        /// A refetch in flight, so concurrent unknown-kid requests share one.
        var fetching: Task<JSONWebKeySet?, Never>?
        /// The JWKS response's `Cache-Control: max-age`, seconds, from the last fetch.
        var maxAge: Int64?
    }

    private let state: Mutex<State>
    private let generations = Atomic<UInt64>(1)

    public static let maxDiscoveryBytes = 256 << 10
    public static let maxJWKSBytes = JSONWebKeySet.defaultMaxBytes

    private init(issuer: String, jwksURI: String, set: JSONWebKeySet, maxAge: Int64?, fetcher: any HTTPFetching,
                 clock: any AuthClock, refreshInterval: Duration, unknownKidInterval: Int64) {
        self.issuer = issuer
        self.jwksURI = jwksURI
        self.fetcher = fetcher
        self.clock = clock
        self.refreshInterval = refreshInterval
        self.unknownKidInterval = unknownKidInterval
        self.state = Mutex(State(set: set, maxAge: maxAge))
    }

    /// Discovers the issuer and fetches its keys; throws when either fails.
    public static func discover(
        issuer configured: String, fetcher: any HTTPFetching, clock: any AuthClock = SystemAuthClock(),
        refreshInterval: Duration = .seconds(15 * 60), unknownKidInterval: Int64 = 30
    ) async throws(OIDCError) -> OIDCKeys {
        // Path-joined, as Go's url.JoinPath does: one slash between issuer and the well-known path.
        var base = configured
        while base.hasSuffix("/") { base.removeLast() }
        let url = base + "/.well-known/openid-configuration"
        let document = try await fetch(url, fetcher: fetcher, maxBytes: maxDiscoveryBytes).body
        guard let json = JSONDocument(document) else { throw .discovery("not a JSON object") }
        guard let jwksURI = json.string("jwks_uri"), jwksURI.hasPrefix("https://") || jwksURI.hasPrefix("http://") else {
            throw .discovery("no http(s) `jwks_uri`")
        }
        let issuer = json.string("issuer") ?? configured
        let response = try await fetch(jwksURI, fetcher: fetcher, maxBytes: maxJWKSBytes)
        let set: JSONWebKeySet
        do {
            set = try JSONWebKeySet(json: response.body, generation: 1)
        } catch {
            throw .jwks(error)
        }
        return OIDCKeys(issuer: issuer, jwksURI: jwksURI, set: set, maxAge: maxAge(response.headers), fetcher: fetcher, clock: clock,
                        refreshInterval: refreshInterval, unknownKidInterval: unknownKidInterval)
    }

    public var keySet: JSONWebKeySet { state.withLock { $0.set } }

    /// Fetches the JWKS now and installs it; on failure the current set stays.
    @discardableResult
    public func refresh() async throws(OIDCError) -> JSONWebKeySet {
        let response = try await Self.fetch(jwksURI, fetcher: fetcher, maxBytes: Self.maxJWKSBytes)
        let set: JSONWebKeySet
        do {
            set = try JSONWebKeySet(json: response.body, generation: generations.add(1, ordering: .relaxed).newValue)
        } catch {
            throw .jwks(error)
        }
        let maxAge = Self.maxAge(response.headers)
        state.withLock { state in
            // Out-of-order completions (a refresh racing an unknown-kid refetch) keep the newer.
            if set.generation > state.set.generation {
                state.set = set
                state.maxAge = maxAge
            }
        }
        return set
    }

    public func refetchForUnknownKid() async -> JSONWebKeySet? {
        let now = clock.now()
        let task: Task<JSONWebKeySet?, Never>? = state.withLock { state in
            if let running = state.fetching { return running }
            if let last = state.lastUnknownKidFetch, now - last < unknownKidInterval { return nil }
            state.lastUnknownKidFetch = now
            let started = Task { [self] in try? await self.refresh() }
            state.fetching = started
            return started
        }
        guard let task else { return nil }
        let result = await task.value
        state.withLock { $0.fetching = nil }
        return result
    }

    /// The wait before the next background refresh: `refreshInterval`, or longer when the last
    /// JWKS response's `Cache-Control: max-age` says so ([JWX] `jwk.Cache` minimum-interval
    /// semantics, kas-server.md §4.2 step 2), capped at a day so a misconfigured cache header
    /// cannot freeze the keys.
    public var nextRefreshDelay: Duration {
        let maxAge = state.withLock { $0.maxAge } ?? 0
        return max(refreshInterval, .seconds(min(maxAge, 86_400)))
    }

    /// Refreshes every `nextRefreshDelay` until cancelled (a service-lifecycle Service's `run()`
    /// can call this). A failed refresh keeps the current keys and is retried next interval;
    /// `onError` hears about it for the log.
    public func run(onError: @Sendable (OIDCError) -> Void = { _ in }) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: nextRefreshDelay)
            } catch {
                return  // cancelled
            }
            do {
                try await refresh()
            } catch {
                onError(error)
            }
        }
    }

    /// `max-age` of a `Cache-Control` header (RFC 9111 §5.2.2.1); `no-store`/`no-cache` give none.
    static func maxAge(_ headers: [(String, String)]) -> Int64? {
        for (name, value) in headers where name.lowercased() == "cache-control" {
            for directive in value.split(separator: ",") {
                let parts = directive.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                if parts.count == 2, parts[0] == "max-age", let seconds = Int64(parts[1]), seconds >= 0 { return seconds }
            }
        }
        return nil
    }

    private static func fetch(_ url: String, fetcher: any HTTPFetching, maxBytes: Int) async throws(OIDCError) -> HTTPFetchResponse {
        let response: HTTPFetchResponse
        do {
            response = try await fetcher.get(url, maxBytes: maxBytes)
        } catch {
            throw .fetch(url: url, error)
        }
        guard response.status == 200 else { throw .status(url: url, response.status) }
        return response
    }
}

import RewrapWire

/// The few string members of the discovery document this reads.
private struct JSONDocument {
    let value: JSONValue

    init?(_ bytes: [UInt8]) {
        guard let value = JSONValue.parse(bytes, maxDepth: 16), value.isObject else { return nil }
        self.value = value
    }

    func string(_ name: String) -> String? { value[exact: name]?.stringValue }
}
