import Synchronization

/// A shared counter closures and threads can capture.
public final class Counter: Sendable {
    private let count = Atomic<Int>(0)

    public init() {}

    @discardableResult
    public func increment() -> Int { count.wrappingAdd(1, ordering: .relaxed).newValue }
    public var value: Int { count.load(ordering: .relaxed) }
}
