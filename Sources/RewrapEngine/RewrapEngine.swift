import Foundation
import RewrapCrypto
import RewrapWire

/// The rewrap engine a KAS links: request in, response out (spec §5).
///
/// ```swift
/// let engine = RewrapEngine(keys: try KeyRing.load(file: "keyring.yaml"))   // RewrapKeyManagement
/// let response = try await engine.rewrap(request)   // or rewrap(json:) for bytes
/// ```
///
/// Per request: the client key is parsed; policies are decoded once; every KAO is unwrapped and
/// its binding verified in parallel on worker threads (each failure isolated to its KAO);
/// policies with attributes go to the authorizer in one call; verified, permitted DEKs are
/// re-wrapped to the client key, again in parallel. When no policy has attributes the two
/// parallel phases are fused into one pass. DEKs live in one wiping buffer per request.
public final class RewrapEngine: Sendable {
    public let keys: any KeySource
    public let authorizer: any RewrapAuthorizer
    public let configuration: RewrapConfiguration
    /// Threads a host can run rewraps on (`Task(executorPreference: engine.threads)`), started on
    /// first use; in-process callers that do not ask run the engine on their own thread.
    public let threads: EngineThreads
    private let pool = WorkerPool()
    private let clientKeys = ClientKeyCache()

    public init(
        keys: any KeySource,
        authorizer: any RewrapAuthorizer = DenyAttributedPolicies(),
        configuration: RewrapConfiguration = RewrapConfiguration()
    ) {
        self.keys = keys
        self.authorizer = authorizer
        self.configuration = configuration
        self.threads = EngineThreads(count: configuration.maxConcurrency)
    }

    /// Rewraps a JSON `UnsignedRewrapRequest` (the SRT's `requestBody`) and returns the JSON
    /// `RewrapResponse`.
    public func rewrap(json: [UInt8], entity: String = "") async throws(RewrapRequestError) -> [UInt8] {
        let request = try decodeRequest(json)
        return try await rewrap(request, entity: entity).jsonBytes()
    }

    /// Parses a JSON request body within the size limit.
    public func decodeRequest(_ json: [UInt8]) throws(RewrapRequestError) -> UnsignedRewrapRequest {
        guard !json.isEmpty else { throw .missingRequestBody }
        guard json.count <= configuration.limits.maxRequestBytes else {
            throw .limitExceeded("request body size in bytes", configuration.limits.maxRequestBytes)
        }
        do throws(ProtoJSONError) {
            return try ProtoJSON.decode(UnsignedRewrapRequest.self, from: json)
        } catch {
            throw .invalidRequestBody
        }
    }

    /// Rewraps every KAO of `request`. Throws only for request-level failures; per-KAO failures
    /// are `fail` results with spec §4.4's strings. `entity` is passed to the authorizer.
    /// `audit`, when given, receives the request's `KAOAuditRecord`s before the call returns.
    public func rewrap(
        _ request: UnsignedRewrapRequest, entity: String = "", audit: (@Sendable ([KAOAuditRecord]) -> Void)? = nil
    ) async throws(RewrapRequestError) -> RewrapResponse {
        if request.requests.isEmpty, let keyAccess = request.keyAccess {
            return try await rewrapLegacy(request, keyAccess: keyAccess, entity: entity, audit: audit)
        }
        let limits = configuration.limits
        guard !request.requests.isEmpty else { throw .invalidRequestBody }
        guard request.requests.count <= limits.maxPolicies else {
            throw .limitExceeded("number of policies", limits.maxPolicies)
        }
        let kaoCount = request.requests.reduce(0) { $0 + $1.keyAccessObjects.count }
        guard kaoCount <= limits.maxKeyAccessObjects else {
            throw .limitExceeded("number of key access objects", limits.maxKeyAccessObjects)
        }
        let clientKey = try clientKeys.key(for: request.clientPublicKey, limits: limits)

        // Policies without an id are skipped silently and produce no result (spec §4.1).
        var policies: [DecodedPolicy] = []
        var jobs = Jobs(capacity: kaoCount)
        for policyRequest in request.requests {
            guard let policy = policyRequest.policy, !policy.id.isEmpty else { continue }
            policies.append(DecodedPolicy(policy, algorithm: policyRequest.algorithm, limits: limits))
            for entry in policyRequest.keyAccessObjects {
                jobs.append(id: entry.keyAccessObjectId, kao: entry.keyAccessObject, policy: policies.count - 1)
            }
        }

        if keys.needsPreparation {
            await keys.prepare(kids: Set(jobs.kaos.compactMap { $0?.kid }.filter { !$0.isEmpty }))
        }
        let bound = configuration.maxRemoteConcurrency
        let batch = Batch(jobs: jobs, policies: policies, unwrapper: KAOUnwrapper(keys: keys, configuration: configuration), audited: audit != nil,
                          makeRemote: { [pool] batch in RemoteDispatch(batch: batch, pool: pool, bound: bound) })
        let width = configuration.maxConcurrency
        let needsDecision = policies.contains { $0.failure == nil && !$0.attributeFQNs.isEmpty }

        let encryptor: ResponseEncryptor?
        if !needsDecision {
            // Every policy is permitted without asking: unwrap, verify and re-wrap in one pass.
            encryptor = makeEncryptor(clientKey)
            if encryptor == nil {
                batch.failAll(.invalidRequest)
            } else {
                pool.forEach(count: batch.count, width: width) { worker, index in
                    if batch.unwrap(index, worker: worker) {
                        batch.rewrap(index, with: encryptor, worker: worker)
                    }
                }
                if await batch.finishRemoteWork() {
                    pool.forEach(count: batch.count, width: width) { worker, index in
                        batch.rewrap(index, with: encryptor, worker: worker)
                    }
                }
            }
        } else {
            pool.forEach(count: batch.count, width: width) { worker, index in
                batch.unwrap(index, worker: worker)
            }
            _ = await batch.finishRemoteWork()
            batch.apply(await authorize(policies, verified: batch.verifiedPolicies(), entity: entity))
            encryptor = makeEncryptor(clientKey)
            if encryptor == nil {
                batch.failAll(.invalidRequest)
            } else {
                pool.forEach(count: batch.count, width: width) { worker, index in
                    batch.rewrap(index, with: encryptor, worker: worker)
                }
            }
        }
        if let audit { audit(batch.auditRecords()) }
        return batch.response(sessionPublicKey: encryptor?.sessionPublicKeyPEM ?? "")
    }

    /// The v1 body (spec §3.5: top-level `keyAccess`, `policy`, `clientPublicKey`, no `requests`;
    /// the Java SDK still sends it): rewrapped as one policy `policy-1` with one KAO `kao-0`, the
    /// DEK also in `entityWrappedKey`, and a failed KAO's error is the request's.
    private func rewrapLegacy(
        _ request: UnsignedRewrapRequest, keyAccess: KeyAccess, entity: String, audit: (@Sendable ([KAOAuditRecord]) -> Void)?
    ) async throws(RewrapRequestError) -> RewrapResponse {
        let upgraded = UnsignedRewrapRequest(
            clientPublicKey: request.clientPublicKey,
            requests: [.init(keyAccessObjects: [.init(keyAccessObjectId: "kao-0", keyAccessObject: keyAccess)],
                             policy: .init(id: "policy-1", body: request.policy), algorithm: request.algorithm)])
        var response = try await rewrap(upgraded, entity: entity, audit: audit)
        guard let result = response.responses.first?.results.first else { throw .invalidRequestBody }
        switch result.outcome {
        case .permit(let wrapped): response.entityWrappedKey = wrapped
        case .fail(let error): throw RewrapRequestError(kaoFailure: error)
        }
        return response
    }

    private func makeEncryptor(_ clientKey: PublicKey) -> ResponseEncryptor? {
        pool.withWorker { worker in
            ResponseEncryptor.make(for: clientKey, ecEnabled: configuration.ecWrappedEnabled, worker: worker.crypto)
        }
    }

    /// One authorizer call for every policy that has attributes and a verified KAO (spec §5
    /// step 10); policies without attributes are permitted without asking.
    private func authorize(_ policies: [DecodedPolicy], verified: [Bool], entity: String) async -> AuthorizationOutcome {
        var decisions = [AuthorizationDecision](repeating: .permit, count: policies.count)
        var asked: [Int] = []
        var resources: [AuthorizationRequest.Resource] = []
        for (index, policy) in policies.enumerated() where verified[index] && !policy.attributeFQNs.isEmpty {
            asked.append(index)
            resources.append(.init(ephemeralID: "rewrap-\(resources.count)", policyID: policy.id,
                                   attributeFQNs: policy.attributeFQNs))
        }
        guard !resources.isEmpty else { return .decided(decisions) }
        let request = AuthorizationRequest(entity: entity, action: "read", resources: resources)
        do {
            let answers = try await authorizer.authorize(request)
            for (position, policyIndex) in asked.enumerated() {
                // A missing answer is a deny, never a permit.
                decisions[policyIndex] = position < answers.count ? answers[position] : .deny
            }
            return .decided(decisions)
        } catch {
            return .failed(error.kaoError)  // fails every KAO of the request (spec §4.4)
        }
    }
}

enum AuthorizationOutcome {
    /// One decision per decoded policy.
    case decided([AuthorizationDecision])
    case failed(KAOError)
}
