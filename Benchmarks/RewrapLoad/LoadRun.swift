import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import RewrapBenchKit

/// Runs a plan: one `LoadLoop` per generator thread, connections opened first, then one clock
/// for all loops; the loops' results merged.
package enum LoadRun {
    /// `progress`: called every `progressEvery` seconds (0: never) with a one-line status.
    /// `histogramLog`: an interval of latencies written to it every `logInterval` seconds.
    package static func run(_ plan: LoadPlan, serverPID: Int32? = nil, progressEvery: Double = 0,
                            histogramLog: HistogramLogWriter? = nil, logInterval: Double = 1,
                            progress report: @escaping @Sendable (String) -> Void = { _ in }) async throws -> LoadResult {
        precondition(!plan.targets.isEmpty && !plan.clients.isEmpty && plan.threads >= 1 && plan.maxInFlight >= 1)
        let tls = try plan.targets.contains(where: \.tls) ? tlsContext(plan.tls, http2: plan.http2) : nil
        let group = MultiThreadedEventLoopGroup(numberOfThreads: plan.threads)
        let progress = LoadProgress()
        var eventLoops = group.makeIterator()
        var loops: [LoadLoop] = []
        for index in 0..<plan.threads {
            guard let loop = eventLoops.next() else { break }
            loops.append(LoadLoop(loop: loop, plan: plan, index: index, loops: plan.threads, progress: progress, tls: tls))
        }
        do {
            try await EventLoopFuture.andAllSucceed(loops.map { $0.connect() }, on: group.next()).get()
        } catch {
            for loop in loops { loop.abandon(error) }
            for loop in loops { _ = try? await loop.outcome.get() }
            try? await group.shutdownGracefully()
            throw error
        }
        let generatorBefore = ProcessCPU.ownSeconds()
        let serverBefore = serverPID.flatMap { ProcessCPU.seconds(pid: $0) }
        // A common start a little ahead, so every loop's first arrival is on time.
        let start = NIODeadline.now().uptimeNanoseconds + 20_000_000
        for loop in loops { loop.begin(at: start) }
        let reporter: Task<Void, Never>? = progressEvery > 0 ? Task {
            let begun = ContinuousClock.now
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(progressEvery)) } catch { return }
                let elapsed = (ContinuousClock.now - begun) / .seconds(1)
                let sent = progress.sent.load(ordering: .relaxed)
                let ok = progress.succeeded.load(ordering: .relaxed)
                let failed = progress.failed.load(ordering: .relaxed)
                let wrong = progress.wrongDEKs.load(ordering: .relaxed)
                report(String(format: "%6.1f s  sent %d  ok %d  failed %d  in flight or waiting %d%@", elapsed, sent, ok, failed,
                              max(0, sent - ok - failed), wrong > 0 ? "  WRONG DEKs \(wrong)" : ""))
            }
        } : nil
        // The log's times run from its StartTime; the clock starts 20 ms after now.
        let running = loops
        let logged: Task<Double, Never>? = histogramLog.map { log in
            Task {
                var from = Date().addingTimeInterval(0.02).timeIntervalSince(log.startTime)
                while !Task.isCancelled {
                    do { try await Task.sleep(for: .seconds(logInterval)) } catch { break }
                    from = await writeInterval(running, to: log, from: from)
                }
                return from
            }
        }
        var total = LoadResult()
        var seconds = 0.0
        for loop in loops {
            let part = try await loop.outcome.get()
            total.add(part)
            seconds = max(seconds, part.seconds)
        }
        reporter?.cancel()
        if let logged, let histogramLog {
            logged.cancel()
            // What finished since the last line: the last, shorter interval.
            _ = await writeInterval(loops, to: histogramLog, from: await logged.value)
        }
        total.seconds = seconds
        total.generatorCPUSeconds = ProcessCPU.ownSeconds() - generatorBefore
        if let serverPID, let before = serverBefore, let after = ProcessCPU.seconds(pid: serverPID) {
            total.serverCPUSeconds = after - before
        }
        try? await group.shutdownGracefully()
        return total
    }

    /// One TLS client context for the run: ALPN h2 or http/1.1, the given CA or the system's roots.
    static func tlsContext(_ settings: LoadTLS, http2: Bool) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.applicationProtocols = [http2 ? "h2" : "http/1.1"]
        if let caFile = settings.caFile { configuration.trustRoots = .file(caFile) }
        if !settings.verify { configuration.certificateVerification = .none }
        do { return try NIOSSLContext(configuration: configuration) } catch {
            throw LoadError("TLS: cannot set up a client context (\(settings.caFile.map { "--ca-file \($0): " } ?? "")\(error))")
        }
    }

    /// Collects every loop's latencies since the last call into one interval line; returns its end.
    private static func writeInterval(_ loops: [LoadLoop], to log: HistogramLogWriter, from start: Double) async -> Double {
        var merged = LatencyRecorder()
        for loop in loops {
            if let part = try? await loop.takeInterval().get() { merged.add(part) }
        }
        let end = Date().timeIntervalSince(log.startTime)
        log.append(start: start, length: max(end - start, 0), merged)
        return end
    }
}
