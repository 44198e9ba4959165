import Foundation
import Synchronization

/// A `rewrap` child process of the server benchmark (`keys generate`, `dev-idp`, `serve`): its
/// output collected (the last 64 KiB, for error messages), its CPU time read from /proc.
// @unchecked: `Process` is launched once, then only signalled and polled (isRunning, status),
// which Foundation synchronises; the output is behind a Mutex.
final class RewrapChild: @unchecked Sendable {
    private let process: Process
    private let output = Output()
    let arguments: [String]

    /// `rewrap` beside this executable (`swift build -c release` puts both in .build/release).
    static func executable() throws -> URL {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidate = (Bundle.main.executableURL?.deletingLastPathComponent() ?? here).appendingPathComponent("rewrap")
        guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
            throw BenchError("the server benchmark runs `rewrap serve`, which is not built beside rewrap-bench (\(candidate.path)): "
                + "swift build -c \(Environment.buildConfiguration) --product rewrap")
        }
        return candidate
    }

    init(_ arguments: [String], directory: URL) throws {
        self.arguments = arguments
        process = Process()
        process.executableURL = try Self.executable()
        process.arguments = arguments
        process.currentDirectoryURL = directory
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
    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // After "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// SIGTERM, then up to `grace` for a clean exit, then SIGKILL. The exit status.
    @discardableResult
    func stop(grace: Duration = .seconds(15)) -> Int32 {
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
