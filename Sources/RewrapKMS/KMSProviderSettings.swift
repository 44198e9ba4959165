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
public struct KMSProviderSettings: Sendable {
    public var endpoint: URL
    /// The `Host` header SigV4 signs: the endpoint's host, with its port when it names one.
    public var hostHeader: String
    public var region: String
    public var credentials: SigV4.Credentials
    public var maxInFlight: Int

    /// The largest `maxInFlight` a config may ask for (one connection each).
    public static let maxInFlightLimit = 1024

    public init(config: ProviderConfig, environment: [String: String]) throws(SettingsError) {
        struct Fields: Decodable {
            var endpoint: String?
            var region: String?
            var accessKeyID: String?
            var secretAccessKey: String?
            var maxInFlight: Int?
        }
        let text = config.configJSON.isEmpty ? "{}" : config.configJSON
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(text.utf8))
        } catch {
            throw SettingsError("the config is not a JSON object of endpoint, region, accessKeyID, secretAccessKey, maxInFlight")
        }
        let region = fields.region ?? "us-east-1"
        guard !region.isEmpty, region.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw SettingsError("region '\(region)' is not an AWS region name")
        }
        let endpointText = fields.endpoint ?? "https://kms.\(region).amazonaws.com"
        guard let endpoint = URL(string: endpointText), let scheme = endpoint.scheme, ["http", "https"].contains(scheme),
              let host = endpoint.host, !host.isEmpty
        else {
            throw SettingsError("endpoint '\(endpointText)' is not an http(s) URL with a host")
        }
        let credentials: SigV4.Credentials
        if let id = fields.accessKeyID, let secret = fields.secretAccessKey {
            credentials = SigV4.Credentials(accessKeyID: id, secretAccessKey: secret)
        } else if let fromEnvironment = SigV4.Credentials.fromEnvironment(environment) {
            credentials = fromEnvironment
        } else {
            throw SettingsError("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or accessKeyID and secretAccessKey in the config")
        }
        let maxInFlight = fields.maxInFlight ?? 64
        guard (1...Self.maxInFlightLimit).contains(maxInFlight) else {
            throw SettingsError("maxInFlight must be between 1 and \(Self.maxInFlightLimit)")
        }
        self.endpoint = endpoint
        self.hostHeader = endpoint.port.map { "\(host):\($0)" } ?? host
        self.region = region
        self.credentials = credentials
        self.maxInFlight = maxInFlight
    }

    /// Why a provider config is unusable; it never repeats a credential.
    public struct SettingsError: Error, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
