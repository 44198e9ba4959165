import RewrapBenchKit
import RewrapClient
import RewrapEngine
import RewrapLoad

/// The in-process suite's side of `Workload`: built from its keyring's keys, checked by rewrapping
/// through the engine itself.
extension Workload {
    static func uniform(kas: KASKey, clientKey: PrivateKey, batch: Int) throws -> Workload {
        try uniform(kas: kas.publicKey, clientKey: clientKey, batch: batch)
    }

    static func mixed(kas: [KASKey], clientKey: PrivateKey, batch: Int, badFraction: Double) throws -> Workload {
        try mixed(kas: kas.map(\.publicKey), clientKey: clientKey, batch: batch, badFraction: badFraction)
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
            if index < requests.count { result.add(verify(response, request: request, writer: writer)) }
            index += 1
        }
        return (result, counting ? Double(allocations) / Double(max(counted, 1)) : nil)
    }
}

extension KASKey {
    /// What a writer wraps to: the kid and the public half.
    var publicKey: TDFWriter.KASPublicKey { TDFWriter.KASPublicKey(kid: kid, key: privateKey.publicKey) }
}
