/// What the Go KAS audits for a KAO (kas-server.md §6, "Audit"): one record per KAO that passed
/// unwrap and the policy binding, once the decision is applied — `success` when its DEK was
/// re-wrapped, `error` when the PDP denied it or the re-wrap failed. KAOs that failed earlier get
/// none. Holds no secret: the binding hash is the public HMAC the KAO carries.
public struct KAOAuditRecord: Sendable, Equatable {
    public var keyAccessObjectID: String
    /// The policy's `uuid` (the audited object's id).
    public var policyUUID: String
    /// The policy's data attribute FQNs.
    public var attributeFQNs: [String]
    /// The KAO's kid.
    public var kid: String
    /// The KAO's `policyBinding.hash` as sent.
    public var bindingHash: String
    /// The request's `algorithm` for the policy (`rsa:2048` when empty).
    public var algorithm: String
    public var succeeded: Bool
}
