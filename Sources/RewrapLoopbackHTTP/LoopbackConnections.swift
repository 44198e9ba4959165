import NIOCore
import Synchronization

/// The open connections of a small loopback HTTP/1.1 server (`rewrap dev-idp`, `rewrap kms-sim`)
/// and whether each is mid-request, so a graceful shutdown closes the idle ones at once and lets
/// the busy ones answer first.
package final class LoopbackConnections: Sendable {
    private struct State {
        var draining = false
        var nextID = 0
        var open: [Int: (channel: any Channel, busy: Bool)] = [:]
    }
    private let state = Mutex(State())

    package init() {}

    package var isDraining: Bool { state.withLock { $0.draining } }

    /// Registers a new connection; nil once draining (the caller closes it).
    package func add(_ channel: any Channel) -> Int? {
        state.withLock { state in
            guard !state.draining else { return nil }
            state.nextID += 1
            state.open[state.nextID] = (channel, false)
            return state.nextID
        }
    }

    package func remove(_ id: Int) { _ = state.withLock { $0.open.removeValue(forKey: id) } }

    /// Marks a connection busy or idle; false once draining (the connection closes instead of
    /// starting or awaiting another request).
    package func setBusy(_ id: Int, _ busy: Bool) -> Bool {
        state.withLock { state in
            state.open[id]?.busy = busy
            return !state.draining
        }
    }

    /// Starts draining; returns the idle connections, to close.
    package func beginDraining() -> [any Channel] {
        state.withLock { state in
            state.draining = true
            return state.open.values.filter { !$0.busy }.map(\.channel)
        }
    }
}
