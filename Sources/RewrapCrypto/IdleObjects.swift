import Foundation

/// Objects that belong to one thread at a time (crypto workers and their contexts), kept for
/// reuse: `withObject` lends an idle one, or makes one when all are in use, and takes it back.
/// So contexts are built once per concurrent caller, not once per call. At most as many exist as
/// callers ever ran at once.
package final class IdleObjects<Element: AnyObject>: @unchecked Sendable {
    // @unchecked: `idle` is only touched under `lock`; an element is used by the one caller it
    // is lent to, and is not shared while lent.
    private let lock = NSLock()
    private var idle: [Element] = []
    private let make: @Sendable () -> Element

    package init(make: @escaping @Sendable () -> Element) { self.make = make }

    package func withObject<R, E: Error>(_ body: (Element) throws(E) -> R) throws(E) -> R {
        let object = lock.withLock { idle.popLast() } ?? make()
        defer { lock.withLock { idle.append(object) } }
        return try body(object)
    }
}
