import Synchronization
import Testing

/// Polls `condition` every millisecond for at most two seconds.
/// Polls `condition` every 10 ms until it holds or `timeout` passes (then records an issue).
public func waitUntil(timeout: Duration, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    if !condition() { Issue.record("condition not reached within \(timeout)") }
}

public func waitUntil(_ condition: () -> Bool) async throws {
    for _ in 0..<2000 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(1))
    }
    Issue.record("condition not reached within 2 s")
}

/// A value behind a lock that escaping closures can share (a `Mutex` itself cannot be captured).
public final class LockedBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    public init(_ value: Value) { mutex = Mutex(value) }
    public func withLock<Result>(_ body: (inout Value) -> Result) -> Result { mutex.withLock { body(&$0) } }
}
