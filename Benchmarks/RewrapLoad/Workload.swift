import RewrapBenchKit
import RewrapClient
import RewrapCrypto
import RewrapWire

/// Requests to send, with what each KAO must come back as, so that every run ends with (or, under
/// load, is) a correctness check: good KAOs open to their DEK, bad ones are refused with the
/// KAS's error. Built from KAS *public* keys only, so the load generator can aim it at any KAS;
/// the in-process suite builds it from its keyring's keys.
package struct Workload: Sendable {
    package enum Expected: Sendable {
        /// Permitted, and the rewrapped key opens to these bytes.
        case dek([UInt8])
        /// Refused with this `error` (a tampered binding or an unknown kid).
        case refused(error: String)
        /// Permitted, and the rewrapped key reproduces the TDF's root signature (replay: the DEK is not known).
        case rootSignature(TDFManifest)
    }

    package struct Entry: Sendable {
        package var policyID: String
        package var kaoID: String
        package var expected: Expected
    }

    /// The `error` of a KAO whose unwrap failed (opentdf-rewrap.md §4.4: wrong key, unknown kid,
    /// bad binding all read `bad request`), as the Go KAS and the engine write it.
    package static let badRequestError = "invalid_argument: request error\nrpc error: code = InvalidArgument desc = bad request"

    /// uniform, mixed or replay.
    package let kind: String
    /// The KAS key algorithm, or "mixed" / "replay".
    package let algorithmLabel: String
    package let clientAlgorithm: KeyAlgorithm
    package let batch: Int
    package let clientKey: PrivateKey
    package let requests: [UnsignedRewrapRequest]
    /// entries[r]: the KAOs of request r, in order.
    package let entries: [[Entry]]

    /// Distinct requests in the uniform and mixed workloads, replayed round-robin: a few for small
    /// batches, one for large ones (the engine keeps nothing per request, and every case checks
    /// each KAO once, so this keeps the correctness pass short).
    package static func variants(batch: Int) -> Int { batch >= 128 ? 1 : 4 }

    package static func kid(_ algorithm: KeyAlgorithm, generation: Int = 1) -> String {
        generation == 1 ? "bench-\(algorithm)" : "bench-\(algorithm)-g\(generation)"
    }

    /// Every KAO wrapped to one KAS key, written as the OpenTDF Go SDK writes them.
    package static func uniform(kas: TDFWriter.KASPublicKey, clientKey: PrivateKey, batch: Int,
                                variants: Int? = nil) throws -> Workload {
        try generated(kind: "uniform", label: kas.key.algorithm.description, kas: [kas], clientKey: clientKey,
                      batch: batch, badFraction: 0, variants: variants)
    }

    /// KAOs spread round-robin over several KAS keys (kids and algorithms); `badFraction` of them are
    /// bad, alternately with a tampered policy binding and with a kid the KAS does not have.
    /// `policies`: the request's KAOs spread over this many policies (TDFs), as a client rewrapping
    /// several files at once sends them.
    package static func mixed(kas: [TDFWriter.KASPublicKey], clientKey: PrivateKey, batch: Int, badFraction: Double,
                              policies: Int = 1, variants: Int? = nil) throws -> Workload {
        try generated(kind: "mixed", label: kas.count == 1 ? kas[0].key.algorithm.description : "mixed", kas: kas,
                      clientKey: clientKey, batch: batch, badFraction: badFraction, policies: policies, variants: variants)
    }

    private static func generated(kind: String, label: String, kas keys: [TDFWriter.KASPublicKey], clientKey: PrivateKey,
                                  batch: Int, badFraction: Double, policies: Int = 1, variants: Int?) throws -> Workload {
        let writer = TDFWriter()
        let clientPEM = try clientKey.publicKey.pem()
        var requests: [UnsignedRewrapRequest] = []
        var entries: [[Entry]] = []
        var bad = 0
        let groups = max(1, min(policies, batch))
        for variant in 0..<(variants ?? Self.variants(batch: batch)) {
            // One policy body per group; KAO i belongs to group i mod groups, as "policy" (one
            // group, the single-TDF request) or "policy-g".
            let bodies = (0..<groups).map { _ in TDFWriter.policyBase64() }
            func policyID(_ group: Int) -> String { groups == 1 ? "policy" : "policy-\(group)" }
            var kaos: [[KeyAccess]] = Array(repeating: [], count: groups)
            var expected: [Entry] = []
            for index in 0..<batch {
                let group = index % groups
                let dek = try TDFWriter.makeDEK()
                let overall = variant * batch + index
                var kao = try writer.keyAccess(dek: dek, policyBase64: bodies[group], kas: keys[overall % keys.count])
                // Bad KAOs land evenly: KAO n is bad when floor((n + 1)·f) > floor(n·f).
                let isBad = (Double(overall + 1) * badFraction).rounded(.down) > (Double(overall) * badFraction).rounded(.down)
                if isBad {
                    if bad % 2 == 0 {
                        kao.policyBinding?.hash = Base64.encode(Array(repeating: UInt8(ascii: "0"), count: 64))
                    } else {
                        kao.kid = "bench-unknown-kid"
                    }
                    bad += 1
                }
                expected.append(Entry(policyID: policyID(group), kaoID: "kao-\(kaos[group].count)",
                                      expected: isBad ? .refused(error: badRequestError) : .dek(dek.copyBytes())))
                kaos[group].append(kao)
            }
            requests.append(RewrapRequestBuilder.request(clientPublicKeyPEM: clientPEM,
                                                         policies: (0..<groups).map { (id: policyID($0), body: bodies[$0], kaos: kaos[$0]) }))
            entries.append(expected)
        }
        return Workload(kind: kind, algorithmLabel: label, clientAlgorithm: clientKey.algorithm, batch: batch,
                        clientKey: clientKey, requests: requests, entries: entries)
    }

    /// The KAOs of real .tdf files, `batch` per request (the last may hold fewer), each under its
    /// file's policy.
    package static func replay(_ files: [(name: String, manifest: TDFManifest)], clientKey: PrivateKey, batch: Int) throws -> Workload {
        let clientPEM = try clientKey.publicKey.pem()
        var pending: [(file: Int, kao: KeyAccess)] = []
        for (index, file) in files.enumerated() {
            for kao in file.manifest.keyAccess { pending.append((index, kao)) }
        }
        var requests: [UnsignedRewrapRequest] = []
        var entries: [[Entry]] = []
        var start = 0
        while start < pending.count {
            let chunk = pending[start..<min(start + batch, pending.count)]
            start += batch
            // One policy group per file, in the order the files came.
            var groups: [(id: String, body: String, kaos: [KeyAccess])] = []
            var expected: [Entry] = []
            for item in chunk {
                let id = "tdf-\(item.file)"
                if groups.last?.id != id { groups.append((id, files[item.file].manifest.policyBase64, [])) }
                expected.append(Entry(policyID: id, kaoID: "kao-\(groups[groups.count - 1].kaos.count)",
                                      expected: .rootSignature(files[item.file].manifest)))
                groups[groups.count - 1].kaos.append(item.kao)
            }
            requests.append(RewrapRequestBuilder.request(clientPublicKeyPEM: clientPEM, policies: groups))
            entries.append(expected)
        }
        return Workload(kind: "replay", algorithmLabel: "replay", clientAlgorithm: clientKey.algorithm, batch: batch,
                        clientKey: clientKey, requests: requests, entries: entries)
    }

    /// The outcome of request `index`'s KAOs in `response` (nil: the request failed as a whole).
    package func verify(_ response: RewrapResponse?, request index: Int, writer: TDFWriter = TDFWriter()) -> BenchReport.Correctness {
        let expectations = entries[index]
        var result = BenchReport.Correctness()
        result.kaos = expectations.count
        guard let response else {
            result.unexpectedOutcomes = expectations.count
            return result
        }
        // One opener per answer: its KAOs share the session key (parsed, and the wrapping key
        // derived, once). An answer whose session key does not parse opens nothing.
        var opener: Result<TDFWriter.ResponseOpener, CryptoError>?
        var results = ResultLookup(response)
        for entry in expectations {
            let found = results.find(policyID: entry.policyID, keyAccessObjectID: entry.kaoID)
            switch entry.expected {
            case .refused(let error):
                if found?.error == error { result.refusedAsExpected += 1 } else { result.unexpectedOutcomes += 1 }
            case .dek, .rootSignature:
                guard let wrapped = found?.kasWrappedKey else {
                    result.unexpectedOutcomes += 1
                    continue
                }
                if opener == nil {
                    opener = Result { () throws(CryptoError) in
                        try writer.opener(sessionPublicKeyPEM: response.sessionPublicKey, clientPrivateKey: clientKey)
                    }
                }
                let dek = try? opener?.get().open(wrapped)
                let right: Bool
                switch entry.expected {
                case .dek(let bytes): right = dek?.copyBytes() == bytes
                case .rootSignature(let manifest): right = dek.map { manifest.rootSignatureMatches(dek: $0) } ?? false
                case .refused: right = false
                }
                if right { result.rewrapped += 1 } else { result.wrongDEKs += 1 }
            }
        }
        return result
    }
}

/// Finds each expected KAO's result in one answer. Where the KAS kept the request's order (every
/// KAS does) the result sits at the KAO's own position in its policy, one comparison; anything
/// else is searched for as `RewrapResponse.result` matches (order is not meaningful on the wire,
/// spec §4.1). A scan per KAO made a batch of 1,000 half a million string comparisons.
private struct ResultLookup {
    let response: RewrapResponse
    /// Policy id → its first result group, as `first(where:)` would pick.
    let policies: [String: Int]
    /// Per policy id, how many of its KAOs were looked up: the next one's position.
    var seen: [String: Int] = [:]

    init(_ response: RewrapResponse) {
        self.response = response
        policies = Dictionary(response.responses.enumerated().map { ($1.policyId, $0) }, uniquingKeysWith: { first, _ in first })
    }

    mutating func find(policyID: String, keyAccessObjectID: String) -> KeyAccessRewrapResult? {
        let position = seen[policyID, default: 0]
        seen[policyID] = position + 1
        guard let index = policies[policyID] else { return nil }
        let results = response.responses[index].results
        if position < results.count, results[position].keyAccessObjectId == keyAccessObjectID { return results[position] }
        return results.first { $0.keyAccessObjectId == keyAccessObjectID }
    }
}

