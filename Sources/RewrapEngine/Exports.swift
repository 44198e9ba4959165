// What a KAS needs besides the engine, chosen symbol by symbol so that one `import RewrapEngine`
// is enough to serve rewraps and to implement `KeySource` or `RemoteKey`: the request and
// response model, and the key types. The rest of RewrapCrypto and RewrapWire (workers, parsers,
// encoders) is the package's own.
@_exported import enum RewrapCrypto.KeyAlgorithm
@_exported import enum RewrapCrypto.Curve
@_exported import class RewrapCrypto.PrivateKey
@_exported import class RewrapCrypto.PublicKey
@_exported import class RewrapCrypto.SecureBytes
@_exported import enum RewrapCrypto.CryptoError
@_exported import struct RewrapWire.UnsignedRewrapRequest
@_exported import struct RewrapWire.KeyAccess
@_exported import struct RewrapWire.PolicyBinding
@_exported import struct RewrapWire.RewrapResponse
@_exported import struct RewrapWire.PolicyRewrapResult
@_exported import struct RewrapWire.KeyAccessRewrapResult
@_exported import let RewrapWire.requiredObligationsMetadataKey
