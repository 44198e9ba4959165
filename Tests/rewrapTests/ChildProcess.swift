import Foundation
import Synchronization

/// Runs a child process to completion: its stdin written, its stdout and stderr read at the same
/// time (reading one to its end before the other deadlocks as soon as the child fills the other
/// pipe's buffer, 64 KiB on Linux), and the child killed if it outlives `timeout`.
enum ChildProcess {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    struct TimedOut: Error, CustomStringConvertible {
        var command: String
        var timeout: Duration
        var stdout: String
        var stderr: String
        var description: String {
            "\(command) did not finish within \(timeout) and was killed; stdout: \(stdout.suffix(1000).debugDescription), "
                + "stderr: \(stderr.suffix(1000).debugDescription)"
        }
    }

    /// A write to a pipe whose reader has gone (a child that exits without reading its stdin)
    /// raises SIGPIPE, which would end the whole test process; ignored, the write fails instead.
    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    static func run(
        _ executable: URL, _ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil, in directory: URL? = nil,
        timeout: Duration = .seconds(120)
    ) throws -> Run {
        _ = ChildProcess.ignoreSIGPIPE
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()

        let stdoutDrain = Drain(out.fileHandleForReading)
        let stderrDrain = Drain(err.fileHandleForReading)
        let writer = input.fileHandleForWriting
        let bytes = Data((stdin ?? "").utf8)
        Thread.detachNewThread {
            // On its own thread too: a child that writes before it reads must not stall us.
            if !bytes.isEmpty { try? writer.write(contentsOf: bytes) }
            try? writer.close()
        }

        let deadline = DispatchTime.now() + .nanoseconds(Int(timeout.components.seconds) * 1_000_000_000
            + Int(timeout.components.attoseconds / 1_000_000_000))
        let finished = stdoutDrain.wait(until: deadline) && stderrDrain.wait(until: deadline) && exited.wait(timeout: deadline) == .success
        guard finished else {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 10)
            _ = stdoutDrain.wait(until: .now() + 5)
            _ = stderrDrain.wait(until: .now() + 5)
            throw TimedOut(command: ([executable.lastPathComponent] + arguments).joined(separator: " "), timeout: timeout,
                           stdout: stdoutDrain.text, stderr: stderrDrain.text)
        }
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: stdoutDrain.text, stderr: stderrDrain.text)
    }

    /// Reads one pipe to its end on a thread of its own, keeping what arrived so far.
    private final class Drain: Sendable {
        private let data = Mutex(Data())
        private let done = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    data.withLock { $0.append(chunk) }
                }
                done.signal()
            }
        }

        /// Whether the pipe reached its end by `deadline`. Once true, stays true (the signal is
        /// put back for the next waiter).
        func wait(until deadline: DispatchTime) -> Bool {
            guard done.wait(timeout: deadline) == .success else { return false }
            done.signal()
            return true
        }

        var text: String { String(decoding: data.withLock { $0 }, as: UTF8.self) }
    }
}
