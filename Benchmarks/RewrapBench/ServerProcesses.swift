import Foundation
import RewrapLoad
import Synchronization

/// A `rewrap` child process of the server benchmark (`keys generate`, `dev-idp`, `serve`): its
/// output collected (the last 64 KiB, for error messages), its CPU time read from /proc.
// @unchecked: `Process` is launched once, then only signalled and polled (isRunning, status),
// which Foundation synchronises; the output is behind a Mutex.
final class RewrapChild: @unchecked Sendable {
    private let process: Process
    private let output = Output()
    let arguments: [String]

    /// `name` in this executable's folder (`swift build -c release` puts every product in .build/release).
    static func besideThisExecutable(_ name: String) -> URL {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        return (Bundle.main.executableURL?.deletingLastPathComponent() ?? here).appendingPathComponent(name)
    }

    /// `rewrap` beside this executable.
    static func executable() throws -> URL {
        let candidate = besideThisExecutable("rewrap")
        guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
            throw BenchError("the server benchmark runs `rewrap serve`, which is not built beside rewrap-bench (\(candidate.path)): "
                + "swift build -c \(Environment.buildConfiguration) --product rewrap")
        }
        return candidate
    }

    /// `environment` is added to this process's own.
    init(_ arguments: [String], directory: URL, environment: [String: String] = [:]) throws {
        self.arguments = arguments
        process = Process()
        process.executableURL = try Self.executable()
        process.arguments = arguments
        process.currentDirectoryURL = directory
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            output.text.withLock { text in
                text += String(decoding: data, as: UTF8.self)
                if text.utf8.count > 65_536 { text = String(text.suffix(32_768)) }
            }
        }
        try process.run()
        Self.live.withLock { _ = $0.insert(process.processIdentifier) }
    }

    /// Children still running, so that an interrupted benchmark stops them: SIGINT or SIGTERM
    /// would otherwise end this process and leave `rewrap serve` and `dev-idp` behind.
    private static let live = Mutex<Set<Int32>>([])
    /// Folders removed on such a signal too (they hold the generated KAS private keys).
    private static let folders = Mutex<[URL]>([])

    static func removeOnSignal(_ folder: URL) { folders.withLock { $0.append(folder) } }

    /// From here on, SIGINT and SIGTERM send SIGTERM to every running child, wait up to 5 s for
    /// them, and exit 130 / 143. Keep the returned sources alive.
    static func stopChildrenOnSignals() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let pids = live.withLock { $0 }
                for pid in pids { kill(pid, SIGTERM) }
                let deadline = ContinuousClock.now + .seconds(5)
                while ContinuousClock.now < deadline && pids.contains(where: { kill($0, 0) == 0 && !reaped($0) }) {
                    Thread.sleep(forTimeInterval: 0.05)
                }
                for folder in folders.withLock({ $0 }) { try? FileManager.default.removeItem(at: folder) }
                FileHandle.standardError.write(Data("rewrap-bench: interrupted; stopped \(pids.count) child process(es)\n".utf8))
                exit(128 + number)
            }
            source.resume()
            return source
        }
    }

    /// Whether `pid` has exited (a zombie counts: Foundation reaps it on its own thread).
    private static func reaped(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    var text: String { output.text.withLock { $0 } }

    private final class Output: Sendable {
        let text = Mutex<String>("")
    }
    var isRunning: Bool { process.isRunning }
    var pid: Int32 { process.processIdentifier }

    /// Runs `rewrap arguments` to its end; throws with its output when it fails.
    static func run(_ arguments: [String], directory: URL) throws {
        let child = try RewrapChild(arguments, directory: directory)
        child.process.waitUntilExit()
        live.withLock { _ = $0.remove(child.pid) }
        guard child.process.terminationStatus == 0 else {
            throw BenchError("rewrap \(arguments.joined(separator: " ")) exited \(child.process.terminationStatus): \(child.text)")
        }
    }

    /// The port in the first "listening on http://127.0.0.1:PORT" (or `address=http://…:PORT`) line.
    func waitForPort(within limit: Duration = .seconds(30)) throws -> Int {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let text = self.text
            for pattern in [#"listening on http://127\.0\.0\.1:[0-9]+"#, #"address=http://127\.0\.0\.1:[0-9]+"#] {
                if let range = text.range(of: pattern, options: .regularExpression),
                   let port = Int(text[range].split(separator: ":").last ?? "") {
                    return port
                }
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw BenchError("rewrap \(arguments.first ?? "") did not start listening: \(text)")
    }

    /// User + system CPU seconds of the process so far (all its threads), from /proc/PID/stat.
    func cpuSeconds() -> Double { ProcessCPU.seconds(pid: pid) ?? 0 }

    /// SIGTERM, then up to `grace` for a clean exit, then SIGKILL. The exit status.
    @discardableResult
    func stop(grace: Duration = .seconds(15)) -> Int32 {
        defer { Self.live.withLock { _ = $0.remove(pid) } }
        guard process.isRunning else { return process.terminationStatus }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
