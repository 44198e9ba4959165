import Dispatch
import Foundation

/// A thread that only warms keys up (see `PrivateKey.warmUp`): it lives as long as the process,
/// so no serving thread can ever be, or reuse the identity of, the owner of a key's blinding.
final class KeyLoaderThread: @unchecked Sendable {
    static let shared = KeyLoaderThread()

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in self.serve() }
        thread.name = "rewrap-key-loader"
        thread.start()
    }

    /// Runs `job` on the loader thread and returns when it is done (a key's warm-up: about a millisecond).
    func run(_ job: @escaping @Sendable () -> Void) {
        let done = DispatchSemaphore(value: 0)
        condition.lock()
        jobs.append {
            job()
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
    }

    private func serve() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
