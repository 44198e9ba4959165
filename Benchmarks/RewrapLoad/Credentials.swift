import AsyncHTTPClient
import Foundation
import NIOCore
import RewrapAuth
import RewrapClient
import RewrapCrypto
import RewrapWire
import Synchronization

/// How simulated clients authenticate, as a real OpenTDF client would.
package enum LoadAuthentication: Sendable {
    /// The KAS runs with authentication off (`rewrap serve --insecure-no-auth`).
    case none
    /// One access token for every client, sent as `Bearer` (no DPoP: the generator does not hold
    /// the key a token made elsewhere may be bound to).
    case bearer(String)
    /// Each client gets its own token from an OIDC token endpoint by client credentials, bound to
    /// its own DPoP key (`cnf.jkt`), refreshed before it expires; every request carries a fresh
    /// DPoP proof.
    case clientCredentials(TokenEndpoint)
}

/// An OAuth 2.0 token endpoint and the client that asks it (RFC 6749 §4.4), e.g. Keycloak's or
/// `rewrap dev-idp`'s `/token`.
package struct TokenEndpoint: Sendable {
    package var url: String
    package var clientID: String
    package var clientSecret: String

    package init(url: String, clientID: String, clientSecret: String) {
        self.url = url
        self.clientID = clientID
        self.clientSecret = clientSecret
    }

    /// The `token_endpoint` of an issuer's discovery document (OpenID Connect Discovery §4).
    package static func discover(issuer: String, http: HTTPClient) async throws -> String {
        var base = issuer
        while base.hasSuffix("/") { base.removeLast() }
        let request = HTTPClientRequest(url: base + "/.well-known/openid-configuration")
        let (response, body) = try await http.fetch(request, timeout: .seconds(15), what: "\(base)/.well-known/openid-configuration")
        struct Discovery: Decodable { var token_endpoint: String }
        guard response.status == .ok, let discovery = try? JSONDecoder().decode(Discovery.self, from: Data(body.readableBytesView)) else {
            throw LoadError("\(base)/.well-known/openid-configuration answered \(response.status.code) without a token_endpoint")
        }
        return discovery.token_endpoint
    }

    /// A token bound to `proofs`' key: (access token, seconds it lives).
    func fetch(proofs: DPoPProofSigner, http: HTTPClient) async throws -> (token: String, lifetime: Double) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        let basic = Base64.encode(Array("\(Self.formEncoded(clientID)):\(Self.formEncoded(clientSecret))".utf8))
        request.headers.add(name: "Authorization", value: "Basic " + basic)
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "DPoP", value: try proofs.proof(method: "POST", url: url, issuedAt: SystemAuthClock().now()))
        request.body = .bytes(ByteBuffer(string: "grant_type=client_credentials"))
        let (response, body) = try await http.fetch(request, timeout: .seconds(30), what: "the token endpoint \(url)")
        struct Issued: Decodable {
            var access_token: String
            var token_type: String
            var expires_in: Double?
        }
        guard response.status == .ok, let issued = try? JSONDecoder().decode(Issued.self, from: Data(body.readableBytesView)) else {
            // The endpoint's error body (RFC 6749 §5.2) names the problem and holds no secret.
            throw LoadError("the token endpoint \(url) answered \(response.status.code): \(String(buffer: body).prefix(300))")
        }
        guard issued.token_type.lowercased() == "dpop" else {
            throw LoadError("the token endpoint \(url) issued a \(issued.token_type) token, not a DPoP-bound one")
        }
        return (issued.access_token, issued.expires_in ?? 300)
    }

    /// application/x-www-form-urlencoded, as RFC 6749 §2.3.1 asks for client id and secret in Basic.
    private static func formEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// One simulated OpenTDF client: its DPoP key, the access token bound to it, the rewrap key its
/// requests name (in `workload`), and its requests' SRTs prepared before the run.
package final class SimulatedClient: Sendable {
    package let workload: Workload
    package let srts: [PreparedSRT]
    /// nil: no DPoP proofs (authentication off, or a Bearer token).
    package let proofs: DPoPProofSigner?
    private let credential: Mutex<String?>
    /// The last `DPoP-Nonce` each target gave this client (RFC 9449 §8), by target index.
    private let nonces: Mutex<[String?]>

    package init(workload: Workload, dpopKey: PrivateKey, authentication: LoadAuthentication, targets: Int) throws {
        self.workload = workload
        srts = workload.requests.map {
            PreparedSRT(requestBody: String(decoding: RewrapRequestBuilder.json($0), as: UTF8.self), key: dpopKey, algorithm: .es256)
        }
        switch authentication {
        case .none:
            proofs = nil
            credential = Mutex(nil)
        case .bearer(let token):
            proofs = nil
            credential = Mutex(token)
        case .clientCredentials:
            proofs = try DPoPProofSigner(key: dpopKey, algorithm: .es256)
            credential = Mutex(nil)
        }
        nonces = Mutex(Array(repeating: nil, count: targets))
    }

    package var token: String? { credential.withLock { $0 } }
    func setToken(_ token: String) { credential.withLock { $0 = token } }

    func nonce(target: Int) -> String? { nonces.withLock { $0[target] } }
    func setNonce(_ nonce: String, target: Int) { nonces.withLock { $0[target] = nonce } }
}

/// Keeps every client's token fresh: fetched before the run, then again at 80 % of its lifetime
/// (a failed refresh is retried every 2 s while the old token still lives).
package final class TokenRefresher: Sendable {
    private let tasks: Mutex<[Task<Void, Never>]> = Mutex([])
    let refreshes = Atomic<Int>(0)
    let failures = Atomic<Int>(0)

    package init() {}

    /// Fetches the first tokens (all clients, a few at a time), then starts the refresh loops.
    package func start(clients: [SimulatedClient], endpoint: TokenEndpoint, http: HTTPClient) async throws {
        var lifetimes: [Double] = []
        for client in clients {
            guard let proofs = client.proofs else { continue }
            let issued = try await endpoint.fetch(proofs: proofs, http: http)
            client.setToken(issued.token)
            lifetimes.append(issued.lifetime)
        }
        for (client, lifetime) in zip(clients, lifetimes) {
            guard let proofs = client.proofs else { continue }
            let task = Task { [self] in
                var wait = max(lifetime * 0.8, 1)
                while !Task.isCancelled {
                    do { try await Task.sleep(for: .seconds(wait)) } catch { return }
                    do {
                        let issued = try await endpoint.fetch(proofs: proofs, http: http)
                        client.setToken(issued.token)
                        refreshes.add(1, ordering: .relaxed)
                        wait = max(issued.lifetime * 0.8, 1)
                    } catch {
                        failures.add(1, ordering: .relaxed)
                        wait = 2
                    }
                }
            }
            tasks.withLock { $0.append(task) }
        }
    }

    package func stop() {
        tasks.withLock { tasks in
            tasks.forEach { $0.cancel() }
            tasks.removeAll()
        }
    }
}

/// A load-generator failure with a message for the user.
package struct LoadError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

extension HTTPClient {
    /// One set-up call (discovery, token, PublicKey) and its body (≤ 1 MiB); a transport failure
    /// is a `LoadError` naming `what`.
    func fetch(_ request: HTTPClientRequest, timeout: TimeAmount, what: String) async throws(LoadError) -> (HTTPClientResponse, ByteBuffer) {
        do {
            let response = try await execute(request, timeout: timeout)
            return (response, try await response.body.collect(upTo: 1 << 20))
        } catch {
            throw LoadError("\(what): \(error)")
        }
    }
}
