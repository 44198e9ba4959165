import Foundation

/// Engine settings. Every external input is size-bounded; the defaults are generous for real
/// traffic (the Go SDK bounds whole manifests to 10 MB) and small enough that one request cannot
/// exhaust memory.
public struct RewrapConfiguration: Sendable {
    public struct Limits: Sendable {
        /// Largest JSON request body accepted by `rewrap(json:)`.
        public var maxRequestBytes = 8 * 1024 * 1024
        /// Most KAOs in one request, over all policies.
        public var maxKeyAccessObjects = 8192
        /// Most policies (`requests` entries) in one request.
        public var maxPolicies = 8192
        /// Largest policy body (base64 text) per policy.
        public var maxPolicyBytes = 512 * 1024
        /// Largest PEM accepted for the client key and for an ephemeral key.
        public var maxPEMBytes = 16 * 1024
        /// Largest `wrappedKey` (an RSA-8192 ciphertext is 1 KiB).
        public var maxWrappedKeyBytes = 1024

        public init() {}
    }

    public var limits = Limits()
    /// Worker threads one request may use; defaults to the active cores.
    public var maxConcurrency = ProcessInfo.processInfo.activeProcessorCount
    /// Unwraps in flight at once per request for keys in a remote key service (KMS, HSM).
    public var maxRemoteConcurrency = 64
    /// OpenTDF's `preview.ec_tdf_enabled`: accept `ec-wrapped` KAOs and EC client keys.
    /// On by default here (the Go KAS defaults it off).
    public var ecWrappedEnabled = true

    public init() {}
}
