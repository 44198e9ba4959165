import Dispatch
import Foundation
import RewrapEngine
import RewrapKeyManagement
import Synchronization

/// One timed run of the engine: `streams` concurrent request loops for `duration` seconds.
struct EngineRun {
    var kaoPerSecond: Double
    var requestsPerSecond: Double
    var latenciesMicroseconds: [Double]
}

enum Measurement {
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Closed loop: each stream issues the next request as soon as the previous one returns.
    static func run(engine: RewrapEngine, workload: Workload, streams: Int, duration: Double, warmUp: Double) async -> EngineRun {
        _ = await loop(engine: engine, workload: workload, streams: streams, duration: warmUp)
        let start = now()
        let latencies = await loop(engine: engine, workload: workload, streams: streams, duration: duration)
        let elapsed = Double(now() - start) / 1e9
        let requests = Double(latencies.count)
        return EngineRun(kaoPerSecond: requests * Double(workload.batch) / elapsed,
                         requestsPerSecond: requests / elapsed,
                         latenciesMicroseconds: latencies)
    }

    private static func loop(engine: RewrapEngine, workload: Workload, streams: Int, duration: Double) async -> [Double] {
        let deadline = now() + UInt64(duration * 1e9)
        return await withTaskGroup(of: [Double].self) { group in
            for stream in 0..<streams {
                group.addTask {
                    var latencies: [Double] = []
                    latencies.reserveCapacity(4096)
                    var index = stream
                    while now() < deadline {
                        let request = workload.requests[index % workload.requests.count]
                        index += 1
                        let begin = now()
                        _ = try? await engine.rewrap(request)
                        latencies.append(Double(now() - begin) / 1e3)
                    }
                    return latencies
                }
            }
            var all: [Double] = []
            for await part in group { all.append(contentsOf: part) }
            return all
        }
    }
}

extension Array where Element == Double {
    /// Nearest-rank percentile (p in 0…100) of the values; 0 when empty.
    func percentile(_ p: Double) -> Double {
        guard !isEmpty else { return 0 }
        let sorted = self.sorted()
        let rank = Swift.max(0, Swift.min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[rank]
    }

    var median: Double {
        guard !isEmpty else { return 0 }
        let sorted = self.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
