import Foundation
import RewrapAWSWire
import RewrapRegistry

/// What an `opentdf.io/aws` provider config says, checked: the JSON in the registry's
/// `provider_config.config`, e.g.
///
/// ```json
/// {"endpoint": "http://127.0.0.1:4599", "region": "us-east-1", "maxInFlight": 64}
/// ```
///
/// Without `endpoint`, AWS's regional endpoint. Credentials come from the config's
/// `accessKeyID`/`secretAccessKey` when both are there, else from the environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
///
/// Unknown fields are refused, not ignored: a misspelt `endpoint` would otherwise send the
/// KAS's requests, signed with real credentials, to AWS's public endpoint.
public struct KMSProviderSettings: Sendable {
    public var endpoint: URL
    /// The `Host` header SigV4 signs: what the HTTP client sends, i.e. the endpoint's host, with
    /// its port only when that is not the scheme's default.
    public var hostHeader: String
    public var region: String
    public var credentials: SigV4.Credentials
    public var maxInFlight: Int

    /// The largest `maxInFlight` a config may ask for (one connection each).
    public static let maxInFlightLimit = 1024
    /// The fields a config may have.
    public static let fields: Set<String> = ["endpoint", "region", "accessKeyID", "secretAccessKey", "maxInFlight"]
    /// Bounds on what is read (a config is a few hundred bytes).
    static let maxConfigBytes = 16 << 10
    static let maxEndpointBytes = 2048
    static let maxRegionBytes = 32

    public init(config: ProviderConfig, environment: [String: String]) throws(SettingsError) {
        struct Fields: Decodable {
            var endpoint: String?
            var region: String?
            var accessKeyID: String?
            var secretAccessKey: String?
            var maxInFlight: Int?
        }
        let text = config.configJSON.isEmpty ? "{}" : config.configJSON
        guard text.utf8.count <= Self.maxConfigBytes else {
            throw SettingsError("the config is over \(Self.maxConfigBytes) bytes")
        }
        // Messages name fields, never values: a value may be a secret.
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw SettingsError("the config is not a JSON object (fields: \(Self.fieldList))")
        }
        let unknown = object.keys.filter { !Self.fields.contains($0) }.sorted()
        guard unknown.isEmpty else {
            let names = unknown.prefix(5).map { "'\($0.prefix(40))'" }.joined(separator: ", ")
            throw SettingsError("unknown field\(unknown.count == 1 ? "" : "s") \(names); the fields are \(Self.fieldList)")
        }
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(text.utf8))
        } catch {
            throw SettingsError("the config's fields have the wrong types: endpoint, region, accessKeyID and secretAccessKey are strings, maxInFlight an integer")
        }
        let region = fields.region ?? "us-east-1"
        guard (1...Self.maxRegionBytes).contains(region.utf8.count),
              region.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D })
        else {
            throw SettingsError("region '\(region.prefix(Self.maxRegionBytes))' is not an AWS region name (lower-case letters, digits and '-')")
        }
        let endpoint = try Self.endpoint(fields.endpoint ?? "https://kms.\(region).amazonaws.com")
        let credentials: SigV4.Credentials
        switch (fields.accessKeyID, fields.secretAccessKey) {
        case (let id?, let secret?):
            guard !id.isEmpty, !secret.isEmpty else { throw SettingsError("accessKeyID and secretAccessKey must not be empty") }
            credentials = SigV4.Credentials(accessKeyID: id, secretAccessKey: secret)
        case (nil, nil):
            guard let fromEnvironment = SigV4.Credentials.fromEnvironment(environment) else {
                throw SettingsError("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or accessKeyID and secretAccessKey in the config")
            }
            credentials = fromEnvironment
        default:
            // Half a pair must not fall back to the environment's pair silently.
            throw SettingsError("give both accessKeyID and secretAccessKey in the config, or neither (then the environment's)")
        }
        let maxInFlight = fields.maxInFlight ?? 64
        guard (1...Self.maxInFlightLimit).contains(maxInFlight) else {
            throw SettingsError("maxInFlight must be between 1 and \(Self.maxInFlightLimit)")
        }
        self.endpoint = endpoint.url
        self.hostHeader = endpoint.hostHeader
        self.region = region
        self.credentials = credentials
        self.maxInFlight = maxInFlight
    }

    private static var fieldList: String { fields.sorted().joined(separator: ", ") }

    /// An endpoint the client can sign for: http(s), a host, no path beyond `/` (the client
    /// signs `POST /`), no query, fragment or user info.
    private static func endpoint(_ text: String) throws(SettingsError) -> (url: URL, hostHeader: String) {
        // User info may hold a password: such an endpoint is refused without being repeated.
        guard !text.contains("@") else { throw SettingsError("the endpoint must not carry user info (credentials go in accessKeyID/secretAccessKey)") }
        let shown = "'\(text.prefix(200))'"
        guard text.utf8.count <= maxEndpointBytes else { throw SettingsError("the endpoint is over \(maxEndpointBytes) bytes") }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              ["http", "https"].contains(scheme), let rawHost = components.host, !rawHost.isEmpty
        else {
            throw SettingsError("endpoint \(shown) is not an http(s) URL with a host")
        }
        guard components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil else {
            throw SettingsError("endpoint \(shown) must be scheme://host[:port] only (no path, query or fragment)")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw SettingsError("endpoint \(shown): the port must be between 1 and 65535")
        }
        guard let url = components.url else { throw SettingsError("endpoint \(shown) is not an http(s) URL with a host") }
        // As AsyncHTTPClient writes it: IPv6 brackets dropped, the port only when not the default.
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        let defaultPort = scheme == "https" ? 443 : 80
        let hostHeader = components.port.map { $0 == defaultPort ? host : "\(host):\($0)" } ?? host
        return (url, hostHeader)
    }

    /// Why a provider config is unusable; it never repeats a credential.
    public struct SettingsError: Error, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
