/// What the engine asks the host's policy decision point (spec §5 step 10): one call per
/// request, covering every policy that has `dataAttributes` and at least one verified KAO.
/// Policies without attributes are permitted by the engine without asking.
public protocol RewrapAuthorizer: Sendable {
    /// Returns one decision per resource, in the same order.
    func authorize(_ request: AuthorizationRequest) async throws(AuthorizationError) -> [AuthorizationDecision]
}

public struct AuthorizationRequest: Sendable, Equatable {
    public struct Resource: Sendable, Equatable {
        /// `rewrap-<i>`, as the Go KAS names resources.
        public var ephemeralID: String
        public var policyID: String
        /// `body.dataAttributes[].attribute`: attribute value FQNs.
        public var attributeFQNs: [String]
    }

    /// Who asks (the host passes the access token or a subject); empty if the host has none.
    public var entity: String
    /// Always `read` for rewrap.
    public var action: String
    public var resources: [Resource]
}

public struct AuthorizationDecision: Sendable, Equatable {
    public var permitted: Bool
    /// Copied into `metadata["X-Required-Obligations"]` of every KAO of the policy.
    public var requiredObligations: [String]

    public init(permitted: Bool, requiredObligations: [String] = []) {
        self.permitted = permitted
        self.requiredObligations = requiredObligations
    }

    public static let permit = AuthorizationDecision(permitted: true)
    public static let deny = AuthorizationDecision(permitted: false)
}

/// Why the decision point could not answer; each fails every KAO of the request (spec §4.4).
public enum AuthorizationError: Error, Sendable, Equatable {
    /// The PDP answered with an error: `forbidden: pdp-denied`.
    case decisionError
    /// The PDP could not be reached: `internal: auth-service-unavailable`.
    case unavailable
    /// The request was cancelled: `internal: context-cancelled`.
    case cancelled

    var kaoError: KAOError {
        switch self {
        case .decisionError: return .pdpDenied
        case .unavailable: return .authServiceUnavailable
        case .cancelled: return .contextCancelled
        }
    }
}

/// The safe default when no decision point is configured: policies with attributes are
/// denied (`forbidden`); attribute-free policies never reach an authorizer.
public struct DenyAttributedPolicies: RewrapAuthorizer {
    public init() {}
    public func authorize(_ request: AuthorizationRequest) async throws(AuthorizationError) -> [AuthorizationDecision] {
        Array(repeating: .deny, count: request.resources.count)
    }
}

/// Permits everything, optionally requiring obligations: for development and benchmarks.
public struct PermitAll: RewrapAuthorizer {
    public var requiredObligations: [String]
    public init(requiredObligations: [String] = []) { self.requiredObligations = requiredObligations }
    public func authorize(_ request: AuthorizationRequest) async throws(AuthorizationError) -> [AuthorizationDecision] {
        Array(repeating: AuthorizationDecision(permitted: true, requiredObligations: requiredObligations),
              count: request.resources.count)
    }
}
