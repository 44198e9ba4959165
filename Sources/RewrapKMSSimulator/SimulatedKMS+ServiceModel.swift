import Foundation
import RewrapAWSWire
import RewrapCrypto
import RewrapWire
import Synchronization

/// The service model: injected latency, HSM occupancy and fault draws.
extension SimulatedKMS {
    /// Service time for one call: lognormal body, rare tail and stall, key-size multiplier.
    func serviceMilliseconds(_ op: KMSWire.Operation, body: [UInt8]) -> Double {
        let latency = profile.latency
        guard latency.p50Milliseconds > 0 else { return 0 }
        var multiplier = op == .getPublicKey || op == .describeKey || op == .listKeys ? 0.5 : 1
        if profile.keySizeMultipliers, op == .decrypt,
           let keyID = KMSWire.decode(KMSWire.DecryptRequest.self, body)?.KeyId, case .rsa(let bits)? = lookup(keyID)?.spec.algorithm {
            multiplier *= bits >= 4096 ? 7 : bits >= 3072 ? 3 : 1
        }
        let milliseconds = state.withLock { state -> Double in
            var value = latency.p50Milliseconds * exp(latency.sigma * state.random.nextGaussian()) * multiplier
            let draw = state.random.nextUnit()
            if draw < latency.stallProbability {
                value += state.random.next(in: latency.stallMilliseconds)
            } else if draw < latency.stallProbability + latency.tailProbability {
                value += state.random.next(in: latency.tailMilliseconds)
            }
            let bucket = [1.0, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000].first { value <= $0 }.map { "≤\(Int($0))" } ?? ">5000"
            state.counters.latencyHistogram[bucket, default: 0] += 1
            return value
        }
        return milliseconds
    }

    /// Unit occupancy for crypto operations; nil for operations that do not reach the HSM.
    func hsmMilliseconds(_ op: KMSWire.Operation, body: [UInt8], settings: SimulatorProfile.HSM) -> Double? {
        guard op == .decrypt || op == .encrypt || op == .deriveSharedSecret else { return nil }
        let keyID = KMSWire.decode(KMSWire.KeyIDRequest.self, body)?.KeyId ?? ""
        switch lookup(keyID)?.spec.algorithm {
        case .rsa(let bits)?:
            return bits >= 4096 ? settings.rsa4096Milliseconds : bits >= 3072 ? settings.rsa3072Milliseconds : settings.rsa2048Milliseconds
        case .ec?: return settings.ecMilliseconds
        case nil: return settings.symmetricMilliseconds
        }
    }

    func drawFault() -> String? {
        let f = profile.faults
        let table: [(String, Double)] = [("KMSInternalException", f.internalError), ("ServiceUnavailable", f.serviceUnavailable),
                                         ("KeyUnavailableException", f.keyUnavailable), ("DependencyTimeoutException", f.dependencyTimeout),
                                         ("reset", f.connectionReset), ("hang", f.hang)]
        let total = table.reduce(0) { $0 + $1.1 }
        guard total > 0 else { return nil }
        var draw = state.withLock { $0.random.nextUnit() }
        for (name, probability) in table {
            if draw < probability { return name }
            draw -= probability
        }
        return nil
    }

    func count(fault: String) {
        state.withLock { $0.counters.faultsInjected[fault, default: 0] += 1 }
    }

    func wait(_ milliseconds: Double) async {
        guard milliseconds > 0 else { return }
        try? await Task.sleep(nanoseconds: UInt64(milliseconds * 1_000_000))
    }
}
