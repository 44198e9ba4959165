import Foundation
import Synchronization

/// Wall-clock time in whole Unix seconds, the unit of every JWT time check (RFC 7519 §2
/// NumericDate; kas-server.md §4.2 step 4 compares whole seconds). Injected everywhere so tests
/// move time by hand instead of sleeping.
public protocol AuthClock: Sendable {
    func now() -> Int64
}

/// The system clock.
public struct SystemAuthClock: AuthClock {
    public init() {}
    public func now() -> Int64 { Int64(Date().timeIntervalSince1970.rounded(.down)) }
}

/// A clock that moves only when told to: for tests.
public final class ManualAuthClock: AuthClock {
    private let seconds: Atomic<Int64>

    public init(_ start: Int64 = 1_800_000_000) { seconds = Atomic(start) }

    public func now() -> Int64 { seconds.load(ordering: .relaxed) }

    public func advance(by delta: Int64) { seconds.add(delta, ordering: .relaxed) }

    public func set(_ value: Int64) { seconds.store(value, ordering: .relaxed) }
}
