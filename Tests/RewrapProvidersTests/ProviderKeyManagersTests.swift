import Foundation
import RewrapAWSWire
import RewrapCrypto
import RewrapKMS
import RewrapProviders
import RewrapRegistry
import RewrapRegistrySQLite
import Testing

/// Provider configs are checked before anything is served: an unusable one is an error naming
/// the provider and the problem, never repeating a credential; a usable one yields the client
/// the KAS will use.
@Suite struct KMSProviderSettingsTests {
    static let secret = "wJalrXUtnFEMI-K7MDENG-NOT-A-REAL-SECRET"
    static let environment = ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": secret]

    static func settings(_ json: String, environment: [String: String] = environment) throws(KMSProviderSettings.SettingsError)
        -> KMSProviderSettings
    {
        try KMSProviderSettings(config: ProviderConfig(name: "aws", manager: KMSKeyManager.managerName, configJSON: json),
                                environment: environment)
    }

    @Test func aUsableConfig() throws {
        let settings = try Self.settings(#"{"endpoint":"http://127.0.0.1:4599","region":"eu-west-2","maxInFlight":8}"#)
        #expect(settings.endpoint.absoluteString == "http://127.0.0.1:4599")
        #expect(settings.hostHeader == "127.0.0.1:4599")
        #expect(settings.region == "eu-west-2")
        #expect(settings.maxInFlight == 8)
        #expect(settings.credentials.accessKeyID == "AKIDENV", "credentials from the environment")
        let defaults = try Self.settings("")
        #expect(defaults.endpoint.absoluteString == "https://kms.us-east-1.amazonaws.com")
        #expect(defaults.hostHeader == "kms.us-east-1.amazonaws.com")
        #expect(defaults.maxInFlight == 64)
        let inline = try Self.settings(#"{"accessKeyID":"AKIDCFG","secretAccessKey":"s"}"#, environment: [:])
        #expect(inline.credentials.accessKeyID == "AKIDCFG")
    }

    /// The HTTP client leaves a default port out of `Host`; a signature over `host:443` would
    /// not match what AWS receives.
    @Test func theSignedHostIsWhatTheHTTPClientSends() throws {
        #expect(try Self.settings(#"{"endpoint":"https://kms.us-east-1.amazonaws.com:443"}"#).hostHeader == "kms.us-east-1.amazonaws.com")
        #expect(try Self.settings(#"{"endpoint":"http://127.0.0.1:80/"}"#).hostHeader == "127.0.0.1")
        #expect(try Self.settings(#"{"endpoint":"https://127.0.0.1:8443"}"#).hostHeader == "127.0.0.1:8443")
    }

    @Test(arguments: [
        ("{not json", "not a JSON object"),
        ("[1, 2]", "not a JSON object"),
        (#"{"endpiont":"http://127.0.0.1:4599"}"#, "unknown field 'endpiont'"),
        (#"{"maxInFlight":"many"}"#, "wrong types"),
        (#"{"maxInFlight":0}"#, "maxInFlight must be between 1 and 1024"),
        (#"{"region":"US East"}"#, "is not an AWS region name"),
        (#"{"endpoint":"ftp://127.0.0.1:4599"}"#, "is not an http(s) URL with a host"),
        (#"{"endpoint":"127.0.0.1:4599"}"#, "is not an http(s) URL with a host"),
        (#"{"endpoint":"http://"}"#, "is not an http(s) URL with a host"),
        (#"{"endpoint":"http://127.0.0.1:4599/kms"}"#, "no path, query or fragment"),
        (#"{"endpoint":"http://127.0.0.1:4599/?x=1"}"#, "no path, query or fragment"),
        (#"{"endpoint":"http://127.0.0.1:99999"}"#, "port"),
    ])
    func unusableConfigsAreExplained(json: String, message: String) {
        #expect(throws: KMSProviderSettings.SettingsError.self) { try Self.settings(json) }
        do {
            _ = try Self.settings(json)
        } catch {
            #expect(error.description.contains(message), "\(json): \(error)")
        }
    }

    /// No credentials anywhere, half a pair, credentials in the URL: refused, and the secret is
    /// never part of the message.
    @Test func credentialProblemsNeverEchoTheSecret() {
        let cases: [(String, [String: String], String)] = [
            ("{}", [:], "no AWS credentials"),
            ("{}", ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": ""], "no AWS credentials"),
            (#"{"secretAccessKey":"\#(Self.secret)"}"#, Self.environment, "both accessKeyID and secretAccessKey"),
            (#"{"accessKeyID":"AKIDCFG","secretAccessKey":""}"#, Self.environment, "must not be empty"),
            (#"{"endpoint":"http://AKIDCFG:\#(Self.secret)@127.0.0.1:4599"}"#, Self.environment, "must not carry user info"),
            (#"{"accessKeyID":"AKIDCFG","secretAccessKey":"\#(Self.secret)","region":"??"}"#, [:], "not an AWS region name"),
        ]
        for (json, environment, message) in cases {
            do {
                _ = try Self.settings(json, environment: environment)
                Issue.record("accepted \(json.count) bytes of config expected to fail with \(message)")
            } catch {
                #expect(error.description.contains(message), "\(error)")
                #expect(!error.description.contains(Self.secret), "the secret is not echoed")
            }
        }
    }
}

@Suite struct ProviderKeyManagersTests {
    /// A registry in a temporary directory, removed afterwards.
    final class Registry {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewrap-providers-\(UUID().uuidString)")
        let store: SQLiteKeyStore
        init() throws {
            store = try SQLiteKeyStore(path: directory.appendingPathComponent("keys.sqlite").path)
        }
        deinit { try? FileManager.default.removeItem(at: directory) }
    }

    @Test func anUnusableProviderIsNamedAndNothingIsBuilt() throws {
        let registry = try Registry()
        try registry.store.createProvider(ProviderConfig(name: "good", manager: KMSKeyManager.managerName,
                                                         configJSON: #"{"endpoint":"http://127.0.0.1:4599"}"#))
        try registry.store.createProvider(ProviderConfig(
            name: "broken", manager: KMSKeyManager.managerName,
            configJSON: #"{"endpoint":"http://127.0.0.1:4599/x","secretAccessKey":"\#(KMSProviderSettingsTests.secret)"}"#))
        do {
            let built = try ProviderKeyManagers.build(store: registry.store, rootKey: nil, environment: KMSProviderSettingsTests.environment)
            Issue.record("built managers for an unusable provider")
            Task { await built.shutdown() }
        } catch {
            guard case .unusableProvider(let name, let manager, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(name == "broken")
            #expect(manager == KMSKeyManager.managerName)
            #expect(error.description.hasPrefix("provider broken (opentdf.io/aws) cannot be used: "), "\(error)")
            #expect(!error.description.contains(KMSProviderSettingsTests.secret))
        }
        // Without credentials anywhere a well-formed provider fails too, by name.
        let clean = try Registry()
        try clean.store.createProvider(ProviderConfig(name: "good", manager: KMSKeyManager.managerName,
                                                      configJSON: #"{"endpoint":"http://127.0.0.1:4599"}"#))
        do {
            let built = try ProviderKeyManagers.build(store: clean.store, rootKey: nil, environment: [:])
            Task { await built.shutdown() }
            Issue.record("built managers without credentials")
        } catch {
            #expect(error.description.hasPrefix("provider good (opentdf.io/aws) cannot be used: no AWS credentials"), "\(error)")
        }
    }

    @Test func usableAndUnsupportedProviders() async throws {
        let registry = try Registry()
        try registry.store.createProvider(ProviderConfig(name: "aws", manager: KMSKeyManager.managerName,
                                                         configJSON: #"{"endpoint":"http://127.0.0.1:4599","maxInFlight":7}"#))
        try registry.store.createProvider(ProviderConfig(name: "vault", manager: "example.com/vault", configJSON: "{}"))
        try registry.store.createProvider(ProviderConfig(name: "local", manager: BasicKeyManager.managerName, configJSON: "{}"))
        let built = try ProviderKeyManagers.build(store: registry.store, rootKey: nil, environment: KMSProviderSettingsTests.environment)
        #expect(built.unsupportedProviders == ["vault (example.com/vault)"])
        let client = try #require(built.kmsClient(provider: "aws"))
        #expect(client.maxInFlight == 7, "maxInFlight comes from the provider config")
        #expect(client.host == "127.0.0.1:4599")
        #expect(built.kmsClient(provider: "local") == nil)
        await built.shutdown()
        await built.shutdown()  // a second call has nothing left to close
    }
}
