import Dispatch
import Foundation
import RewrapLoad
import CAllocationCounter
import RewrapBenchKit
import RewrapEngine
import Synchronization

/// One timed run of the engine: `streams` concurrent request loops for `duration` seconds.
struct EngineRun {
    var kaoPerSecond: Double
    var requestsPerSecond: Double
    var latency: LatencyRecorder
    /// Process CPU time (user + system) over the timed run ÷ KAOs done, µs.
    var cpuMicrosecondsPerKAO: Double
}

/// How long a timed run lasts: a time, or a number of KAOs (requests are claimed until it is reached).
enum RunLength: Sendable {
    case seconds(Double)
    case kaos(Int)
}

/// KAOs claimed so far by the streams of a `.kaos` run.
private final class KAOClaims: Sendable {
    let claimed = Atomic<Int>(0)
}

enum Measurement {
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Closed loop: each stream issues the next request as soon as the previous one returns.
    static func run(engine: RewrapEngine, workload: Workload, streams: Int, length: RunLength, warmUp: Double) async -> EngineRun {
        _ = await loop(engine: engine, workload: workload, streams: streams, length: .seconds(warmUp))
        let cpuBefore = ProcessUsage.cpuSeconds()
        let start = now()
        let (latency, kaos) = await loop(engine: engine, workload: workload, streams: streams, length: length)
        let elapsed = Double(now() - start) / 1e9
        let cpu = ProcessUsage.cpuSeconds() - cpuBefore
        return EngineRun(kaoPerSecond: Double(kaos) / elapsed, requestsPerSecond: Double(latency.count) / elapsed,
                         latency: latency, cpuMicrosecondsPerKAO: kaos > 0 ? cpu * 1e6 / Double(kaos) : 0)
    }

    private static func loop(engine: RewrapEngine, workload: Workload, streams: Int, length: RunLength) async -> (LatencyRecorder, Int) {
        let deadline: UInt64
        let budget: Int
        switch length {
        case .seconds(let seconds):
            deadline = now() + UInt64(seconds * 1e9)
            budget = .max
        case .kaos(let count):
            deadline = .max
            budget = count
        }
        let claims = KAOClaims()
        return await withTaskGroup(of: (LatencyRecorder, Int).self) { group in
            for stream in 0..<streams {
                group.addTask {
                    var latency = LatencyRecorder()
                    var kaos = 0
                    var index = stream
                    while now() < deadline {
                        let request = index % workload.requests.count
                        let size = workload.entries[request].count
                        if budget != .max, claims.claimed.wrappingAdd(size, ordering: .relaxed).oldValue >= budget { break }
                        index += 1
                        let begin = now()
                        _ = try? await engine.rewrap(workload.requests[request])
                        latency.record(nanoseconds: now() - begin)
                        kaos += workload.entries[request].count
                    }
                    return (latency, kaos)
                }
            }
            var all = LatencyRecorder()
            var kaos = 0
            for await (part, count) in group {
                all.add(part)
                kaos += count
            }
            return (all, kaos)
        }
    }
}

/// Counts every allocation call through the interposer in CAllocationCounter, which defines
/// malloc and friends in this executable, ahead of the allocator (glibc, or jemalloc when preloaded).
enum AllocationCounter {
    /// Whether allocations really pass through the counter (they do unless symbol lookup was changed).
    static let isActive = rewrap_allocation_counter_linked()

    static func start() {
        rewrap_allocation_reset()
        rewrap_allocation_counting(true)
    }

    static func stop() -> Int {
        rewrap_allocation_counting(false)
        return Int(rewrap_allocation_count())
    }
}

enum ProcessUsage {
    static func cpuSeconds() -> Double { ProcessCPU.ownSeconds() }

    /// Resident-set high-water mark of the process so far, MiB (Linux reports KiB).
    static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
