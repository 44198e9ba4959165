/// `server.auth.dpop.*` and `server.auth.dpopskew` (kas-server.md §4.3).
public struct DPoPSettings: Sendable {
    /// Require a proof even for tokens without `cnf` (default false: such tokens pass unproven).
    public var enforce: Bool
    /// Require the server nonce (row 13) and send `DPoP-Nonce` on every authenticated response.
    public var requireNonce: Bool
    /// Seconds a nonce is current before a lazy rotation (default 5 min); the previous stays valid.
    public var nonceExpiration: Int64
    /// Refuse a path-only `htu` (default false: it passes when its path matches).
    public var strictHTU: Bool
    /// `dpopskew`: how long after its `iat` a proof is accepted, and how long its `jti` is remembered (1 h).
    public var dpopSkew: Int64
    /// Most `jti`s remembered at once; when full, new proofs are refused (DPoPReplayCache).
    public var replayCacheCapacity: Int

    public init(enforce: Bool = false, requireNonce: Bool = false, nonceExpiration: Int64 = 300, strictHTU: Bool = false,
                dpopSkew: Int64 = 3600, replayCacheCapacity: Int = 1_000_000) {
        self.enforce = enforce
        self.requireNonce = requireNonce
        self.nonceExpiration = nonceExpiration
        self.strictHTU = strictHTU
        self.dpopSkew = dpopSkew
        self.replayCacheCapacity = replayCacheCapacity
    }
}

/// A refused DPoP proof. Every one is 401 `unauthenticated` (kas-server.md §4.6); which
/// `WWW-Authenticate` error it carries depends on the kind. `logText` is the platform's server
/// log text for the row (§4.3 table), never sent to the client and never containing a token.
public struct DPoPFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// `WWW-Authenticate: DPoP error="invalid_dpop_proof"` (rows 1–12, 14, malformed nonce).
        case invalidProof
        /// `WWW-Authenticate: DPoP error="use_dpop_nonce"` plus `DPoP-Nonce` (row 13).
        case useNonce
    }

    public let kind: Kind
    /// The §4.3 row that failed (1–14); 0 for the replay cache being full.
    public let row: Int
    public let logText: String

    init(_ row: Int, _ logText: String, kind: Kind = .invalidProof) {
        self.kind = kind
        self.row = row
        self.logText = logText
    }

    public var description: String { "DPoP row \(row): \(logText)" }
}
