import Foundation
import Synchronization

/// Runs a child process to completion: its stdin written, its stdout and stderr read at the same
/// time (reading one to its end before the other deadlocks as soon as the child fills the other
/// pipe's buffer, 64 KiB on Linux), and the child killed if it outlives `timeout`.
public enum ChildProcess {
    public struct Run: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public struct TimedOut: Error, CustomStringConvertible {
        public var command: String
        public var timeout: Duration
        public var stdout: String
        public var stderr: String
        public var description: String {
            "\(command) did not finish within \(timeout) and was killed; stdout: \(stdout.suffix(1000).debugDescription), "
                + "stderr: \(stderr.suffix(1000).debugDescription)"
        }
    }

    /// A write to a pipe whose reader has gone (a child that exits without reading its stdin)
    /// raises SIGPIPE, which would end the whole test process; ignored, the write fails instead.
    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// `run` on a thread of its own, for async tests: waiting for a child there would hold one of
    /// Swift's cooperative threads (two on a 2-core machine) for the child's whole run, and two
    /// such waits stall every other async test of the parallel suite — the KMS tests' timing
    /// failed that way once the load generator's CLI tests joined it.
    public static func runOffPool(
        _ executable: URL, _ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil, in directory: URL? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> Run {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    try run(executable, arguments, stdin: stdin, environment: environment, in: directory, timeout: timeout)
                })
            }
        }
    }

    public static func run(
        _ executable: URL, _ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil, in directory: URL? = nil,
        timeout: Duration = .seconds(120)
    ) throws -> Run {
        _ = ChildProcess.ignoreSIGPIPE
        let out = Pipe(), err = Pipe(), input = Pipe()
        let process = try SpawnedChild(executable: executable, arguments: arguments, directory: directory, environment: environment,
                                       stdin: input, stdout: out, stderr: err)

        let stdoutDrain = PipeDrain(out.fileHandleForReading)
        let stderrDrain = PipeDrain(err.fileHandleForReading)
        let writer = input.fileHandleForWriting
        let bytes = Data((stdin ?? "").utf8)
        Thread.detachNewThread {
            // On its own thread too: a child that writes before it reads must not stall us.
            if !bytes.isEmpty { try? writer.write(contentsOf: bytes) }
            try? writer.close()
        }

        let deadline = DispatchTime.now() + .nanoseconds(Int(timeout.components.seconds) * 1_000_000_000
            + Int(timeout.components.attoseconds / 1_000_000_000))
        let finished = stdoutDrain.wait(until: deadline) && stderrDrain.wait(until: deadline) && process.wait(until: deadline) != nil
        guard finished, let status = process.wait(until: .now()) else {
            process.signal(SIGKILL)
            _ = process.wait(until: .now() + 10)
            _ = stdoutDrain.wait(until: .now() + 5)
            _ = stderrDrain.wait(until: .now() + 5)
            throw TimedOut(command: ([executable.lastPathComponent] + arguments).joined(separator: " "), timeout: timeout,
                           stdout: stdoutDrain.text, stderr: stderrDrain.text)
        }
        return Run(status: status, stdout: stdoutDrain.text, stderr: stderrDrain.text)
    }
}

/// Reads one pipe to its end on a thread of its own, keeping what arrived so far.
public final class PipeDrain: Sendable {
    private let data = Mutex(Data())
    private let done = DispatchSemaphore(value: 0)

    public init(_ handle: FileHandle) {
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
    public func wait(until deadline: DispatchTime) -> Bool {
        guard done.wait(timeout: deadline) == .success else { return false }
        done.signal()
        return true
    }

    /// Everything written so far.
    public var text: String { String(decoding: data.withLock { $0 }, as: UTF8.self) }

    /// Everything written, once the writer has closed the pipe (or after `limit`).
    public func waitForEOF(within limit: Duration = .seconds(30)) -> String {
        _ = wait(until: .now() + .milliseconds(Int(limit.components.seconds) * 1000))
        return text
    }
}

/// A child process that keeps running while the test talks to it (a server): stdout and stderr
/// drained as they are written, stdin closed on demand, signals sent by hand.
public final class RunningChild: Sendable {
    private let child: SpawnedChild
    public let stdout: PipeDrain
    public let stderr: PipeDrain
    private let input = Pipe()

    public init(executable: URL, arguments: [String], directory: URL, environment: [String: String]) throws {
        let out = Pipe(), err = Pipe()
        child = try SpawnedChild(executable: executable, arguments: arguments, directory: directory, environment: environment,
                                 stdin: input, stdout: out, stderr: err)
        stdout = PipeDrain(out.fileHandleForReading)
        stderr = PipeDrain(err.fileHandleForReading)
    }

    public var processIdentifier: Int32 { child.pid }
    public var isRunning: Bool { child.isRunning }

    public func close(stdin: String?) {
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
    }

    public func signal(_ number: Int32) { child.signal(number) }

    public func kill() { signal(SIGKILL) }

    /// The exit status, or nil if still running after `limit`.
    public func waitForExit(within limit: Duration) -> Int32? {
        child.wait(until: .now() + .nanoseconds(Int(limit.components.seconds) * 1_000_000_000
            + Int(limit.components.attoseconds / 1_000_000_000)))
    }
}
