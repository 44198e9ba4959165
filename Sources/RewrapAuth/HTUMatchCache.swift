import Synchronization

/// `HTU.matches` results, remembered. A client proves every request for the same URL, and the
/// normalisation (RFC 3986 §6.2.2 on both sides, with Foundation string searches) was ~30 µs
/// of a batch-1 rewrap in `rewrap serve` (perf, 2-vCPU VM, 2026-12-02); the answer is a pure
/// function of its inputs, so a hit is exactly what recomputing would give. Bounded: when full
/// it starts over, so hostile `htu` values cost at most the computation they would have anyway.
public final class HTUMatchCache: Sendable {
    private struct Key: Hashable {
        var htu: String
        var authority: String
        var procedurePath: String
        var strict: Bool
    }

    public let capacity: Int
    private let results = Mutex([Key: Bool]())

    public init(capacity: Int = 1024) {
        precondition(capacity > 0, "cache capacity must be positive")
        self.capacity = capacity
    }

    public func matches(_ htu: String, authority: String, procedurePath: String, strict: Bool) -> Bool {
        // Inputs are bounded by the proof and header limits; very long ones are not worth keeping.
        guard htu.utf8.count + authority.utf8.count + procedurePath.utf8.count <= 2048 else {
            return HTU.matches(htu, authority: authority, procedurePath: procedurePath, strict: strict)
        }
        let key = Key(htu: htu, authority: authority, procedurePath: procedurePath, strict: strict)
        if let known = results.withLock({ $0[key] }) { return known }
        let result = HTU.matches(htu, authority: authority, procedurePath: procedurePath, strict: strict)
        results.withLock { results in
            if results.count >= capacity { results.removeAll(keepingCapacity: true) }
            results[key] = result
        }
        return result
    }
}
