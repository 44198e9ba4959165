import RewrapCrypto
import RewrapEngine
import RewrapTestSupport

/// The engine's key source in tests: kid → `KASKey` in memory, legacy candidates stated
/// outright. Deliberately not `KeyRing`: the engine tests then link neither Yams nor the
/// keyring's rule for picking legacy candidates (no key marked ⇒ every RSA-2048 key), which is
/// the keyring's behaviour and tested with it in RewrapKeyRingTests.
public struct TestKeySource: KeySource {
    public let keys: [KASKey]
    private let byKid: [String: KASKey]
    private let legacy: [KASKey]

    /// `legacy`: the candidates for kid-free `wrapped` KAOs, in the order the engine should try
    /// them; nil means the keys marked `legacy`, in key order.
    public init(_ keys: [KASKey], legacy: [KASKey]? = nil) {
        var byKid: [String: KASKey] = [:]
        for key in keys {
            precondition(byKid[key.kid] == nil, "TestKeySource: kid \(key.kid) given twice")
            byKid[key.kid] = key
        }
        self.keys = keys
        self.byKid = byKid
        self.legacy = legacy ?? keys.filter(\.legacy)
    }

    public func resolve(kid: String) -> KeyResolution? { byKid[kid].map(KeyResolution.local) }

    public func legacyKeys() -> [KASKey] { legacy }

    /// One fixture KAS key per algorithm, kid = the algorithm string; the RSA-2048 key is the
    /// legacy candidate (what a keyring with no key marked legacy would offer).
    public static let fixtures: TestKeySource = {
        let keys = KeyAlgorithm.kasAlgorithms.map { KASKey(kid: $0.description, privateKey: Fixtures.privateKey(Fixtures.kasKeyName($0))) }
        return TestKeySource(keys, legacy: keys.filter { $0.algorithm == .rsa2048 })
    }()
}
