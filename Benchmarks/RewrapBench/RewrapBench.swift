import ArgumentParser
import Foundation
import RewrapBenchKit
import RewrapClient
import RewrapCrypto
import RewrapKeyRing
import RewrapLoad
import RewrapKMSSimulator

@main
struct RewrapBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewrap-bench",
        abstract: "Load-test the rewrap engine on every key path against the raw OpenSSL ceiling, and gate regressions in CI.",
        discussion: """
        Without a subcommand it runs the benchmark suite: 'rewrap-bench help run' lists every option.

        Examples:
          # the standard suite (~4.5 min on 2 cores)
          swift run -c release rewrap-bench
          # the same cases, one short repetition (< 1 min)
          swift run -c release rewrap-bench --quick
          swift run -c release rewrap-bench compare results/baseline.json \\
              results/<run>.json
        """,
        subcommands: [Run.self, Server.self, Load.self, Merge.self, Compare.self, Allocations.self, Render.self],
        defaultSubcommand: Run.self)
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the benchmark suite (the default subcommand).",
        discussion: """
        For each KAS key algorithm, the raw OpenSSL rate of its dominant primitive (RSA private decrypt, or \
        ECDH derive) is measured on 1 thread and on all cores; then the engine rewraps requests written as \
        the OpenTDF Go SDK writes them, for every batch size and thread count, on each key path:
          local         keys parsed at start from a keyring
          cached-warm   key registry (SQLite, root-wrapped keys) behind a warm
                        parsed-key cache
          cached-cold   the same with the cache emptied as the timed run starts
          uncached      registry lookup + root unwrap + PEM parse per KAO (what the Go
                        KAS does)
          kms           the key in a simulated AWS KMS (REMOTE mode) on loopback HTTP,
                        one case per --kms-profiles entry, all cores, against the bound
                        min(quota + burst ÷ T, C ÷ mean latency)
        Workloads: uniform (one key per algorithm; every client kind on the local path, the client of the \
        key's family elsewhere) and mixed (two kids per algorithm, all algorithms in one request, \
        --bad-fraction of the KAOs tampered or for an unknown kid; local and cached-warm paths). --replay \
        rewraps the KAOs of real .tdf files instead.

        Per case: KAO/s and requests/s, latency p50/p90/p99/p99.9/max (HdrHistogram), CPU µs per KAO, \
        mallocs per KAO (counted by a malloc interposer while the workload's requests are rewrapped one at a \
        time, 512 KAOs at least), peak RSS, cache and KMS counters, and a correctness pass (good KAOs open \
        to their DEK, bad ones are refused). Efficiency = KAO/s ÷ ceiling (same repetition, same threads); \
        scaling = all cores ÷ 1 thread. Figures are medians over the repetitions.

        Each allocator runs in its own process: rewrap-bench re-executes itself with LD_PRELOAD set to \
        jemalloc for --allocators jemalloc; allocation counting works with either).

        Writes results/<UTC date>-<case set>.json (schema-versioned), results/latest.md with the tables and \
        results/charts/*.svg, and prints the tables. Exits 2 if any KAO came back wrong.

        Examples:
          # the standard suite, ~4.5 min
          swift run -c release rewrap-bench
          swift run -c release rewrap-bench --quick               # smoke run, < 1 min
          # what CI gates (medians of 3), ~95 s
          swift run -c release rewrap-bench --quick --repetitions 3
          swift run -c release rewrap-bench --allocators glibc,jemalloc --paths \\
              local --batches 256
          swift run -c release rewrap-bench --algorithms ec:secp384r1,rsa:4096 \\
              --clients ec --repetitions 5
          swift run -c release rewrap-bench --replay ~/tdfs --keyring kas-keys.yaml \\
              --batches 1,64
          swift run -c release rewrap-bench compare results/baseline.json \\
              results/2026-11-29T1200Z-quick.json
        """)

    @Option(help: "KAS key algorithms, comma-separated (\(KeyAlgorithm.kasAlgorithms.map(\.description).joined(separator: ", "))).")
    var algorithms = Standard.algorithms

    @Option(help: "Client key kinds, comma-separated: rsa (RSA-2048), ec (on the KAS key's curve, P-256 for RSA keys), or an algorithm.")
    var clients = Standard.clients

    @Option(help: "Key paths, comma-separated: local, cached-warm, cached-cold, uncached, kms.")
    var paths = Standard.paths

    @Option(help: "Workloads, comma-separated: uniform, mixed.")
    var workloads = Standard.workloads

    @Option(help: "Fraction of bad KAOs in the mixed workload (half tampered bindings, half unknown kids).")
    var badFraction = Standard.badFraction

    @Option(help: "Simulated KMS profiles for the kms path: realistic, stress, outage, zero.")
    var kmsProfiles = Standard.kmsProfiles

    @Option(help: "KAOs per request, comma-separated.")
    var batches = Standard.batches

    @Option(help: "Thread counts, comma-separated; 'all' means every active core.")
    var threads = Standard.threads

    @Option(name: .customLong("duration"), help: "Seconds each case and each ceiling is timed (default: 0.5; 0.15 with --quick).")
    var durationOption: Double?
    var duration: Double { durationOption ?? (quick ? 0.15 : 0.5) }

    @Option(help: "Run each engine case for this many KAOs instead of --duration seconds (kms cases stay timed).")
    var kaos: Int?

    @Option(name: .customLong("warm-up"), help: "Seconds of untimed warm-up before each case (default: 0.15; 0.05 with --quick).")
    var warmUpOption: Double?
    var warmUp: Double { warmUpOption ?? (quick ? 0.05 : 0.15) }

    @Option(name: .customLong("kms-duration"),
            help: "Seconds each kms case is timed; the quota's token bucket needs time to show (default: 1; 0.3 with --quick).")
    var kmsDurationOption: Double?
    var kmsDuration: Double { kmsDurationOption ?? (quick ? 0.3 : 1) }

    @Option(name: .customLong("kms-warm-up"),
            help: "Seconds of untimed warm-up before each kms case; drains the KMS's burst allowance (default: 0.4; 0.15 with --quick).")
    var kmsWarmUpOption: Double?
    var kmsWarmUp: Double { kmsWarmUpOption ?? (quick ? 0.15 : 0.4) }

    @Option(name: .customLong("repetitions"), help: "Repetitions of the whole suite; figures are medians over them (default: 3; 1 with --quick).")
    var repetitionsOption: Int?
    var repetitions: Int { repetitionsOption ?? (quick ? 1 : 3) }

    @Option(help: "Allocators, comma-separated: jemalloc, glibc. Each runs in its own process; cases carry their allocator.")
    var allocators = "jemalloc"

    @Flag(help: "The same cases, short (0.15 s each) and once unless --repetitions says otherwise: a smoke run for CI, < 1 minute.")
    var quick = false

    @Option(help: "Replay the KAOs of every .tdf file in this folder (needs --keyring) instead of generated workloads.")
    var replay: String?

    @Option(help: "The KAS private keys for --replay: a keyring file as `rewrap keys generate` writes it.")
    var keyring: String?

    @Option(help: "Folder for the JSON report, latest.md and charts/.")
    var resultsDir = "results"

    @Flag(help: "Do not write any file; print the tables only.")
    var noWrite = false

    /// Set by the parent when it re-executes itself for one allocator.
    @Option(help: .hidden)
    var childReport: String?

    static let childAllocatorVariable = "REWRAP_BENCH_ALLOCATOR"

    mutating func run() async throws {
        let allocatorList = try parseList(allocators, option: "--allocators") { ["jemalloc", "glibc"].contains($0) ? $0 : nil }
        var plan = try makePlan(allocator: allocatorList[0])

        if let childReport {
            let allocator = ProcessInfo.processInfo.environment[Self.childAllocatorVariable] ?? Environment.allocator
            guard allocator == Environment.allocator else {
                throw BenchError("asked for \(allocator) but this process runs \(Environment.allocator) (LD_PRELOAD did not take)")
            }
            plan.allocator = allocator
            let progress = Progress()
            progress.note("rewrap-bench: \(allocator), \(OpenSSLInfo.version), \(plan.cores) cores, \(Environment.buildConfiguration) build, "
                + (AllocationCounter.isActive ? "allocations counted" : "allocations NOT counted (the counter is not in the lookup path)"))
            if Environment.buildConfiguration == "debug" {
                progress.note("warning: debug build; figures are not meaningful (use swift run -c release rewrap-bench)")
            }
            let suite = Suite(plan: plan, progress: progress)
            do {
                let report = try await suite.run()
                await suite.shutdown()
                try report.encoded().write(to: URL(fileURLWithPath: childReport))
            } catch {
                await suite.shutdown()
                throw error
            }
            return
        }

        var reports: [BenchReport] = []
        for (index, allocator) in allocatorList.enumerated() {
            if allocatorList.count > 1 {
                FileHandle.standardError.write(Data("== allocator \(index + 1)/\(allocatorList.count): \(allocator)\n".utf8))
            }
            reports.append(try AllocatorLauncher.run(allocator: allocator))
        }
        var report = reports[0]
        for other in reports.dropFirst() {
            report.allocators += other.allocators
            report.ceilings += other.ceilings
            report.cases += other.cases
            report.ratios += other.ratios
        }
        report.targets = Targets.evaluate(report)

        let markdown = report.markdown()
        print(markdown)
        if !noWrite {
            let written = try ReportFiles.write(report, markdown: markdown, to: resultsDir)
            FileHandle.standardError.write(Data("wrote \(written.joined(separator: ", "))\n".utf8))
        }
        let wrong = report.cases.reduce(0) { $0 + $1.correctness.wrongDEKs }
        let unexpected = report.cases.filter { $0.kms == nil }.reduce(0) { $0 + $1.correctness.unexpectedOutcomes }
        if wrong > 0 || unexpected > 0 {
            FileHandle.standardError.write(Data("error: \(wrong) KAOs rewrapped to a wrong DEK, \(unexpected) KAOs with an unexpected outcome on local paths\n".utf8))
            throw ExitCode(2)
        }
    }

    private func makePlan(allocator: String) throws -> SuitePlan {
        for (name, value, minimum) in [("--duration", duration, 0.001), ("--kms-duration", kmsDuration, 0.001),
                                       ("--warm-up", warmUp, 0), ("--kms-warm-up", kmsWarmUp, 0), ("--repetitions", Double(repetitions), 1)]
        where !(value >= minimum && value <= 3600) {
            throw ValidationError("\(name): cannot use '\(String(format: "%g", value))' (\(minimum > 0 ? "more than 0" : "0 or more"), at most 3600)")
        }
        guard (0...1).contains(badFraction) else { throw ValidationError("--bad-fraction must be within 0…1") }
        if let kaos, !(1...100_000_000).contains(kaos) { throw ValidationError("--kaos must be between 1 and 100000000") }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let allPaths = try parseList(paths, option: "--paths") { BenchPath(rawValue: $0) }
        var plan = SuitePlan(
            caseSet: "custom", allocator: allocator,
            algorithms: try parseList(algorithms, option: "--algorithms") { KeyAlgorithm($0) },
            clients: try parseList(clients, option: "--clients") { ["rsa", "ec"].contains($0) || KeyAlgorithm($0) != nil ? $0 : nil },
            paths: allPaths,
            kmsProfiles: allPaths.contains(.kms) ? try parseList(kmsProfiles, option: "--kms-profiles") { SimulatorProfile.named($0) == nil ? nil : $0 } : [],
            workloads: Set(try parseList(workloads, option: "--workloads") { ["uniform", "mixed"].contains($0) ? $0 : nil }),
            batches: try parseList(batches, option: "--batches") { Int($0).flatMap { (1...4096).contains($0) ? $0 : nil } },
            threads: try parseList(threads, option: "--threads") { $0 == "all" ? cores : Int($0).flatMap { (1...256).contains($0) ? $0 : nil } },
            duration: duration, kaos: kaos, warmUp: warmUp, repetitions: repetitions, kmsDuration: kmsDuration, kmsWarmUp: kmsWarmUp,
            badFraction: badFraction)
        if let replay {
            guard let keyring else { throw ValidationError("--replay needs --keyring FILE with the KAS private keys the files were written to") }
            let folder = URL(fileURLWithPath: (replay as NSString).expandingTildeInPath)
            let urls = try TDFArchive.files(in: folder)
            guard !urls.isEmpty else { throw ValidationError("no .tdf file in \(replay)") }
            var files: [(name: String, manifest: TDFManifest)] = []
            for url in urls {
                do {
                    let data = try Data(contentsOf: url)
                    files.append((url.lastPathComponent, try TDFArchive.readManifest(data)))
                } catch {
                    throw ValidationError("\(url.path): \(error)")
                }
            }
            plan.replay = (files, try KeyRing.load(file: (keyring as NSString).expandingTildeInPath))
            plan.paths = [.local]
            plan.kmsProfiles = []
            plan.caseSet = "replay"
        } else if quick {
            plan.caseSet = "quick"
        } else if isDefaultMatrix {
            plan.caseSet = "standard"
        }
        return plan
    }

    /// The standard suite's cases: the defaults of the options that select them.
    enum Standard {
        static let algorithms = "rsa:2048,ec:secp256r1"
        static let clients = "rsa,ec"
        static let paths = "local,cached-warm,cached-cold,uncached,kms"
        static let workloads = "uniform,mixed"
        static let kmsProfiles = "realistic,stress"
        static let batches = "1,16,256"
        static let threads = "1,all"
        static let badFraction = 0.1
    }

    /// Every case-selecting option at its default (durations may differ).
    private var isDefaultMatrix: Bool {
        algorithms == Standard.algorithms && clients == Standard.clients && paths == Standard.paths
            && workloads == Standard.workloads && kmsProfiles == Standard.kmsProfiles && batches == Standard.batches
            && threads == Standard.threads && badFraction == Standard.badFraction
    }

}

/// Runs the suite for one allocator in a new process of this executable, with LD_PRELOAD set,
/// and reads back the report it writes.
enum AllocatorLauncher {
    static func run(allocator: String) throws -> BenchReport {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var preload: [String] = []
        if allocator == "jemalloc" {
            guard let library = Environment.jemallocLibrary() else {
                throw BenchError("libjemalloc.so.2 not found: run scripts/setup-debian.sh (or apt-get install libjemalloc-dev), or pass --allocators glibc")
            }
            preload.append(library)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = preload.joined(separator: ":")
        environment[Run.childAllocatorVariable] = allocator
        let reportPath = FileManager.default.temporaryDirectory.appendingPathComponent("rewrap-bench-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: reportPath) }

        let process = Process()
        process.executableURL = executable
        process.arguments = Array(CommandLine.arguments.dropFirst()) + ["--child-report", reportPath]
        process.environment = environment
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            // The child has said why on stderr; pass its status on.
            throw ExitCode(process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus)
        }
        return try BenchReport.load(path: reportPath)
    }
}

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write latest.md and the charts again from a report (after a change to the tables or charts).",
        discussion: """
        Example:
          swift run -c release rewrap-bench render \\
              results/2026-11-29T1828Z-standard.json
        """)

    @Argument(help: "A report written by a run.")
    var report: String

    @Option(help: "Folder for latest.md and charts/ (default: the report's folder).")
    var resultsDir: String?

    func run() throws {
        var loaded = try BenchReport.load(path: report)
        loaded.targets = Targets.evaluate(loaded)
        let folder = resultsDir ?? URL(fileURLWithPath: report).deletingLastPathComponent().path
        let written = try ReportFiles.write(loaded, markdown: loaded.markdown(), to: folder, json: false)
        print("wrote \(written.joined(separator: ", "))")
    }
}

/// Writes a run's files into the results folder.
enum ReportFiles {
    /// "2026-11-29T18:30:12Z" → "2026-11-29T1830Z": report names sort by time, never overwrite a run.
    static func stamp(_ isoDate: String) -> String {
        let date = Array(isoDate)
        return date.count >= 16 ? String(date[0..<10]) + "T" + String(date[11..<13]) + String(date[14..<16]) + "Z" : "run"
    }

    static func write(_ report: BenchReport, markdown: String, to folder: String, json writeJSON: Bool = true) throws -> [String] {
        let base = URL(fileURLWithPath: folder)
        let charts = base.appendingPathComponent("charts")
        try FileManager.default.createDirectory(at: charts, withIntermediateDirectories: true)
        let json = base.appendingPathComponent("\(stamp(report.date))-\(report.caseSet).json")
        var written: [String] = []
        if writeJSON {
            try report.encoded().write(to: json)
            written.append(json.path)
        }
        for chart in report.charts() {
            let url = charts.appendingPathComponent(chart.file)
            try Data(chart.svg.utf8).write(to: url)
            written.append(url.path)
        }
        let latest = base.appendingPathComponent("latest.md")
        try Data(markdown.utf8).write(to: latest)
        written.append(latest.path)
        return written
    }
}

/// Progress on stderr: one rewritten line with elapsed time and ETA on a terminal, plain lines otherwise.
final class Progress: @unchecked Sendable {
    private var total = 0
    private var done = 0
    private let start = Date()
    private let interactive = isatty(2) == 1

    func expect(steps: Int) { total = steps }

    func note(_ text: String) {
        emit(text, final: true)
    }

    func step(_ text: String) {
        done += 1
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 1 ? elapsed / Double(done - 1) * Double(total - done + 1) : 0
        emit(String(format: "[%d/%d %3.0fs, ETA %3.0fs] ", done, total, elapsed, eta) + text, final: !interactive)
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func emit(_ text: String, final: Bool) {
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + text + (final ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }
}

/// A comma-separated option's values; `command` names the help page that lists them.
func parseList<T>(_ text: String, option: String, command: String = "run", _ parse: (String) -> T?) throws -> [T] {
    let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    var out: [T] = []
    for item in items {
        guard let value = parse(item) else {
            throw ValidationError("\(option): cannot use '\(item)' (see 'rewrap-bench help \(command)' for the values it takes)")
        }
        out.append(value)
    }
    guard !out.isEmpty else { throw ValidationError("\(option) is empty") }
    return out
}
