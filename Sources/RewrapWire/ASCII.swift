/// ASCII case-insensitive comparison: HTTP field names and tokens (RFC 9110 §5.1) and the ASCII
/// fast path of Go's `strings.EqualFold` in `JSONValue.member`.
package enum ASCII {
    /// Whether `a` and `b` are equal with ASCII letters compared case-insensitively (any other
    /// byte must match exactly). No allocation.
    @inlinable
    package static func equalsIgnoringCase<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        for (p, q) in zip(a, b) where p != q {
            let lower = p | 0x20
            guard lower == q | 0x20, lower >= 0x61, lower <= 0x7A else { return false }
        }
        return true
    }

    /// The same for two strings, over their contiguous UTF-8 (the generic form walks two
    /// `UTF8View`s in lock step, which showed in header lookups).
    @inlinable
    package static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        var a = a, b = b
        return a.withUTF8 { x in b.withUTF8 { y in equalsIgnoringCase(x, y) } }
    }
}
