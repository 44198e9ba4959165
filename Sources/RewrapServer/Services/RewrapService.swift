import Foundation
import Logging
import NIOCore
import RewrapEngine
import RewrapWire

/// `kas.AccessService/Rewrap` (kas-server.md §3, opentdf-rewrap.md §3–§5), in order: the
/// access token and proof, the SRT, the request body, the KAO queue bound, the engine, the
/// answer. Runs on the engine's threads (`KASServer` starts it there), so none of this CPU work
/// sits on an event loop or on Swift's cooperative pool.
struct RewrapService: Sendable {
    let engine: RewrapEngine
    let authentication: any RewrapAuthentication
    let metrics: ServerMetrics?
    /// One record per audited KAO (kas-server.md §6), never a DEK, key or token.
    let audit: Logger

    struct Outcome: Sendable {
        var body: Result<[UInt8], ConnectError>
        /// Added to the answer whatever it is (`DPoP-Nonce`).
        var headers: [(String, String)]
    }

    func rewrap(message: ByteBuffer, codec: Codec, facts: CallFacts, ticket: Admission.Ticket) async -> Outcome {
        let caller: Caller
        switch await authentication.authenticate(facts) {
        case .success(let authenticated): caller = authenticated
        case .failure(let error):
            metrics?.count("rewrap_auth_failures_total", [("reason", Self.failureReason(error))])
            return Outcome(body: .failure(error), headers: [])
        }
        let headers = authentication.responseHeaders()
        do throws(ConnectError) {
            let token = try RewrapRequestMessage.signedRequestToken(from: message, codec: codec)
            let body = try authentication.requestBody(fromSignedRequestToken: token, caller: caller)
            let request: UnsignedRewrapRequest
            do {
                request = try engine.decodeRequest(body)
            } catch {
                throw ConnectError(error)
            }
            let kaoCount = max(1, request.requests.reduce(0) { $0 + $1.keyAccessObjects.count })
            guard ticket.admitKAOs(kaoCount) else {
                metrics?.count("rewrap_admission_refused_total", [("bound", "kaos")])
                throw ConnectError.queueFull
            }
            let response: RewrapResponse
            do {
                let log = audit
                let subject = caller.subject
                // Below the audit records' level the engine is not asked for them at all (it
                // builds one per KAO when asked).
                let auditing: (@Sendable ([KAOAuditRecord]) -> Void)? = log.logLevel <= .notice
                    ? { @Sendable records in Self.log(records, facts: facts, actor: subject, to: log) } : nil
                response = try await engine.rewrap(request, entity: caller.accessToken, audit: auditing)
            } catch {
                throw ConnectError(error)
            }
            if let metrics { Self.countOutcomes(request, response, metrics) }
            return Outcome(body: .success(codec == .proto ? response.protoBytes() : response.jsonBytes()), headers: headers)
        } catch {
            return Outcome(body: .failure(error), headers: headers)
        }
    }
}

extension RewrapService {
    /// The Go KAS's audit record (`service/logger/audit/rewrap.go`), one log event per KAO,
    /// message `rewrap`, the record under `audit`; `actor.id` is the token's `sub`.
    static func log(_ records: [KAOAuditRecord], facts: CallFacts, actor: String, to logger: Logger) {
        let timestamp = Date().formatted(.iso8601)
        for record in records {
            logger.notice("rewrap", metadata: ["audit": .dictionary([
                "object": .dictionary([
                    "type": "key_object", "id": .string(record.policyUUID),
                    "attributes": .dictionary(["attrs": .array(record.attributeFQNs.map { .string($0) })]),
                ]),
                "action": .dictionary(["type": "rewrap", "result": record.succeeded ? "success" : "error"]),
                "actor": .dictionary(["id": .string(actor), "attributes": .array([])]),
                "eventMetaData": .dictionary([
                    "keyID": .string(record.kid), "policyBinding": .string(record.bindingHash), "tdfFormat": "tdf3",
                    "algorithm": .string(record.algorithm),
                ]),
                "clientInfo": .dictionary(["userAgent": .string(facts.userAgent), "platform": "kas", "requestIP": .string(facts.remoteIP)]),
                "requestID": .string(facts.requestID),
                "timestamp": .string(timestamp),
            ])])
        }
    }

    /// A low-cardinality label for an authentication failure (kas-server.md §4.6's rows).
    static func failureReason(_ error: ConnectError) -> String {
        if error.message == "missing authorization header" { return "missing_authorization" }
        if error.code == .permissionDenied { return "permission_denied" }
        let challenge = error.headers.first { $0.0.lowercased() == "www-authenticate" }?.1 ?? ""
        if challenge.contains("use_dpop_nonce") { return "dpop_nonce" }
        if challenge.contains("invalid_dpop_proof") { return "invalid_dpop_proof" }
        return "invalid_token"
    }

    private static let kaoTypes: Set<String> = ["wrapped", "ec-wrapped", "hybrid-wrapped", "mlkem-wrapped"]

    /// KAO outcomes by KAO type (`wrapped`, `ec-wrapped`, …) and status.
    static func countOutcomes(_ request: UnsignedRewrapRequest, _ response: RewrapResponse, _ metrics: ServerMetrics) {
        // The response lists policies and their KAOs in the request's order (the engine builds
        // it so): each result's request entry is looked up at its own position first, by id only
        // if that does not match. Ids alone would not do: every policy numbers its KAOs from kao-0.
        var counts: [String: (permit: Int, fail: Int)] = [:]
        for (index, policy) in response.responses.enumerated() {
            let requested = request.requests.indices.contains(index) && request.requests[index].policy?.id == policy.policyId
                ? request.requests[index] : request.requests.first { $0.policy?.id == policy.policyId }
            let entries = requested?.keyAccessObjects ?? []
            for (position, result) in policy.results.enumerated() {
                let entry = entries.indices.contains(position) && entries[position].keyAccessObjectId == result.keyAccessObjectId
                    ? entries[position] : entries.first { $0.keyAccessObjectId == result.keyAccessObjectId }
                let type = (entry?.keyAccessObject?.keyType).flatMap { $0.isEmpty ? nil : $0 } ?? "wrapped"
                let known = Self.kaoTypes.contains(type) ? type : "other"
                if result.kasWrappedKey != nil { counts[known, default: (0, 0)].permit += 1 } else { counts[known, default: (0, 0)].fail += 1 }
            }
        }
        for (type, count) in counts {
            metrics.count("rewrap_kao_total", [("type", type), ("status", "permit")], by: count.permit)
            metrics.count("rewrap_kao_total", [("type", type), ("status", "fail")], by: count.fail)
        }
    }
}

extension ConnectError {
    /// The engine's request-level failures keep their code and message (opentdf-rewrap.md §4.4).
    init(_ error: RewrapRequestError) {
        let code: ConnectCode = switch error.code {
        case .invalidArgument: .invalidArgument
        case .resourceExhausted: .resourceExhausted
        case .unauthenticated: .unauthenticated
        case .permissionDenied: .permissionDenied
        case .internal: .internal
        }
        self.init(code, error.message)
    }
}
