import Foundation
import RewrapBenchKit
import RewrapClient
import RewrapCrypto
import RewrapEngine
import RewrapWire

/// Requests to replay, with what each KAO must come back as, so that every case ends with a
/// correctness pass: good KAOs open to their DEK, bad ones are refused.
struct Workload: Sendable {
    enum Expected: Sendable {
        /// Permitted, and the rewrapped key opens to these bytes.
        case dek([UInt8])
        /// Refused (tampered binding, unknown kid).
        case refused
        /// Permitted, and the rewrapped key reproduces the TDF's root signature (replay: the DEK is not known).
        case rootSignature(TDFManifest)
    }

    struct Entry: Sendable {
        var policyID: String
        var kaoID: String
        var expected: Expected
    }

    /// uniform, mixed or replay.
    let kind: String
    /// The KAS key algorithm, or "mixed" / "replay".
    let algorithmLabel: String
    let clientAlgorithm: KeyAlgorithm
    let batch: Int
    let clientKey: PrivateKey
    let requests: [UnsignedRewrapRequest]
    /// entries[r]: the KAOs of request r, in order.
    let entries: [[Entry]]

    /// Distinct requests in the uniform and mixed workloads, replayed round-robin: a few for small
    /// batches, one for large ones (the engine keeps nothing per request, and every case checks
    /// each KAO once, so this keeps the correctness pass short).
    static func variants(batch: Int) -> Int { batch >= 128 ? 1 : 4 }

    static func kid(_ algorithm: KeyAlgorithm, generation: Int = 1) -> String {
        generation == 1 ? "bench-\(algorithm)" : "bench-\(algorithm)-g\(generation)"
    }

    /// Every KAO wrapped to one KAS key, written as the OpenTDF Go SDK writes them.
    static func uniform(kas: KASKey, clientKey: PrivateKey, batch: Int) throws -> Workload {
        try generated(kind: "uniform", label: kas.privateKey.algorithm.description, kas: [kas], clientKey: clientKey,
                      batch: batch, badFraction: 0)
    }

    /// KAOs spread round-robin over several KAS keys (kids and algorithms); `badFraction` of them are
    /// bad, alternately with a tampered policy binding and with a kid the KAS does not have.
    static func mixed(kas: [KASKey], clientKey: PrivateKey, batch: Int, badFraction: Double) throws -> Workload {
        try generated(kind: "mixed", label: "mixed", kas: kas, clientKey: clientKey, batch: batch, badFraction: badFraction)
    }

    private static func generated(kind: String, label: String, kas: [KASKey], clientKey: PrivateKey, batch: Int,
                                  badFraction: Double) throws -> Workload {
        let writer = TDFWriter()
        let clientPEM = try clientKey.publicKey.pem()
        let keys = kas.map { TDFWriter.KASPublicKey(kid: $0.kid, key: $0.privateKey.publicKey) }
        var requests: [UnsignedRewrapRequest] = []
        var entries: [[Entry]] = []
        var bad = 0
        for variant in 0..<variants(batch: batch) {
            let policy = TDFWriter.policyBase64()
            var kaos: [KeyAccess] = []
            var expected: [Entry] = []
            for index in 0..<batch {
                let dek = try TDFWriter.makeDEK()
                let overall = variant * batch + index
                var kao = try writer.keyAccess(dek: dek, policyBase64: policy, kas: keys[overall % keys.count])
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
                kaos.append(kao)
                expected.append(Entry(policyID: "policy", kaoID: "kao-\(index)", expected: isBad ? .refused : .dek(dek.copyBytes())))
            }
            requests.append(RewrapRequestBuilder.request(clientPublicKeyPEM: clientPEM,
                                                         policies: [(id: "policy", body: policy, kaos: kaos)]))
            entries.append(expected)
        }
        return Workload(kind: kind, algorithmLabel: label, clientAlgorithm: clientKey.algorithm, batch: batch,
                        clientKey: clientKey, requests: requests, entries: entries)
    }

    /// The KAOs of real .tdf files, `batch` per request (the last may hold fewer), each under its
    /// file's policy.
    static func replay(_ files: [(name: String, manifest: TDFManifest)], clientKey: PrivateKey, batch: Int) throws -> Workload {
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

    /// Rewraps every request once, one at a time, and checks every KAO's outcome. With
    /// `countingAllocationsOver`, requests go on round-robin until at least that many KAOs, and the
    /// allocations of the rewraps alone, not of the checks, are counted and returned per KAO (nil
    /// when not asked, or when the counter is not in the process).
    func check(engine: RewrapEngine, countingAllocationsOver target: Int? = nil) async -> (BenchReport.Correctness, mallocsPerKAO: Double?) {
        let counting = target != nil && AllocationCounter.isActive
        let writer = TDFWriter()
        var result = BenchReport.Correctness()
        var allocations = 0
        var counted = 0
        var index = 0
        while index < requests.count || (counting && counted < target!) {
            let request = index % requests.count
            if counting { AllocationCounter.start() }
            let response = try? await engine.rewrap(requests[request])
            if counting { allocations += AllocationCounter.stop() }
            counted += entries[request].count
            // Each request is checked once; the rounds after the first only add to the count.
            if index < requests.count { result.add(verify(response, entries[request], writer: writer)) }
            index += 1
        }
        return (result, counting ? Double(allocations) / Double(max(counted, 1)) : nil)
    }

    /// The outcome of request `index`'s KAOs in `response` (the server path's check, over the network).
    func verify(_ response: RewrapResponse?, request index: Int) -> BenchReport.Correctness {
        verify(response, entries[index], writer: TDFWriter())
    }

    private func verify(_ response: RewrapResponse?, _ expectations: [Entry], writer: TDFWriter) -> BenchReport.Correctness {
        var result = BenchReport.Correctness()
        result.kaos = expectations.count
        guard let response else {
            result.unexpectedOutcomes = expectations.count
            return result
        }
        for entry in expectations {
            let permitted = response.result(policyID: entry.policyID, keyAccessObjectID: entry.kaoID)?.status == "permit"
            switch entry.expected {
            case .refused:
                if permitted { result.unexpectedOutcomes += 1 } else { result.refusedAsExpected += 1 }
            case .dek, .rootSignature:
                guard permitted else {
                    result.unexpectedOutcomes += 1
                    continue
                }
                let dek = try? writer.unwrap(response, policyID: entry.policyID, keyAccessObjectID: entry.kaoID, clientPrivateKey: clientKey)
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
