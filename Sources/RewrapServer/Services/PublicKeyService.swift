import RewrapCrypto
import RewrapProto
import SwiftProtobuf

/// `PublicKey` and `LegacyPublicKey` (kas-server.md §5): public, POST or GET.
struct PublicKeyService: Sendable {
    let directory: any PublicKeyDirectory

    /// The algorithms PublicKey serves; others fail `invalid algorithm or format` once a key of
    /// theirs was found (the lookup runs first, §5).
    private static let served: Set<KeyAlgorithm> = [.rsa2048, .ecP256]

    func publicKey(_ request: Kas_PublicKeyRequest) throws(ConnectError) -> Kas_PublicKeyResponse {
        let key = try lookup(request.algorithm)
        guard Self.served.contains(key.algorithm) else { throw .invalidAlgorithmOrFormat }
        var response = Kas_PublicKeyResponse()
        switch (key.algorithm.isRSA, request.fmt) {
        case (true, ""), (true, "pkcs8"), (false, _):
            response.publicKey = key.pem
        case (true, "jwk"):
            // `{"e":"AQAB","kty":"RSA","n":"…"}`, no kid or alg (Go's standard_crypto.go:406-430).
            do {
                response.publicKey = try PublicKey(pem: key.pem).jwkJSON()
            } catch {
                throw .internalError
            }
        default:
            throw .invalidAlgorithmOrFormat
        }
        // `v: "1"` asks for the kid-free form (Go SDK `WithNoKIDInKAO`).
        response.kid = request.v == "1" ? "" : key.kid
        return response
    }

    /// `LegacyPublicKey {algorithm}` ⇒ a bare PEM string, no kid (§5). For `ec:secp256r1` the Go
    /// KAS serves the key's X.509 certificate from its keyring files; keys here carry no
    /// certificate, so it answers as the Go KAS's registry mode does.
    func legacyPublicKey(_ request: Kas_LegacyPublicKeyRequest) throws(ConnectError) -> Google_Protobuf_StringValue {
        switch request.algorithm {
        case "", "rsa:2048":
            return Google_Protobuf_StringValue(try lookup("rsa:2048").pem)
        case "ec:secp256r1":
            _ = try lookup("ec:secp256r1")
            throw ConnectError(.internal, "invalid config\nconfiguration error")
        default:
            throw ConnectError(.notFound, "invalid config\ninvalid algorithm")
        }
    }

    private func lookup(_ name: String) throws(ConnectError) -> ServedPublicKey {
        do {
            guard try directory.hasKeys() else { throw ConnectError.noKeysConfigured }
            // "" is rsa:2048; a name this build cannot parse has no key, like an unknown one.
            guard let algorithm = KeyAlgorithm(name.isEmpty ? "rsa:2048" : name),
                  let key = try directory.defaultKey(for: algorithm) else { throw ConnectError.noDefaultKey }
            return key
        } catch let error as ConnectError {
            throw error
        } catch {
            throw ConnectError.internalError
        }
    }
}

extension ConnectError {
    static let noKeysConfigured = ConnectError(.notFound, "invalid config\nno default keys configured")
    static let noDefaultKey = ConnectError(.notFound, "invalid config\nno default key for algorithm")
    static let invalidAlgorithmOrFormat = ConnectError(.notFound, "invalid algorithm or format")
}
