import Foundation

/// The engine's own threads, as a task executor: a host that must keep Swift's cooperative pool
/// and its event loops free (a network server) runs rewraps with
/// `Task(executorPreference: engine.threads) { try await engine.rewrap(…) }`, so the CPU work of
/// a request (SRT checks, parsing, every KAO's crypto, encoding) happens here; the awaiting
/// caller's thread is free meanwhile and resumes when the answer is ready.
///
/// One FIFO queue served by `count` threads (default: the active cores). Threads start on first
/// use, so a command-line rewrap that never asks for them starts none.
public final class EngineThreads: TaskExecutor, @unchecked Sendable {
    // @unchecked: `queue`, `started` and `stopping` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var queue: [UnownedJob] = []
    private var head = 0
    private var started = false
    public let count: Int
    private let name: String

    public init(count: Int = ProcessInfo.processInfo.activeProcessorCount, name: String = "rewrap-engine") {
        precondition(count > 0, "EngineThreads needs at least one thread")
        self.count = count
        self.name = name
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        if !started { startLocked() }
        queue.append(job)
        condition.unlock()
        condition.signal()
    }

    /// Jobs waiting for a thread (a gauge for the host's metrics; racy by nature).
    public var queuedJobs: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count - head
    }

    private func startLocked() {
        started = true
        for index in 0..<count {
            // The thread keeps the executor alive: tasks may name it until the process ends.
            let thread = Thread { self.serve() }
            thread.name = "\(name)-\(index)"
            // The engine's stacks hold no large frames, but OpenSSL's RSA paths like room.
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Threads live as long as the process: an engine is built once per process and its
    /// executor may be referenced by tasks until the end, so there is no stop to race with.
    private func serve() {
        let executor = asUnownedTaskExecutor()
        while true {
            condition.lock()
            while head == queue.count { condition.wait() }
            let job = queue[head]
            head += 1
            // Compact when the consumed prefix dominates, so the array does not grow forever
            // and the append path stays amortized O(1) without reallocating per job.
            if head > 1024 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: executor)
        }
    }
}
