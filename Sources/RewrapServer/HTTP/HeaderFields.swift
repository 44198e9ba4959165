import NIOHTTP1
import RewrapWire

/// A list-header read for the request path that allocates nothing.
///
/// `HTTPHeaders[canonicalForm:]` splits every value at commas into a fresh array of substrings:
/// with the `Content-Type` parse it was 7 % of `rewrap serve`'s CPU at batch 1 (perf, P-256,
/// 2-vCPU VM, 2026-12-02). Whole lines (`Authorization`, `DPoP`: Go's `Header.Values`) are
/// NIO's own `headers[name]`.
extension HTTPHeaders {
    /// Whether the comma-separated lists of the fields named `name` hold `token` (ASCII
    /// case-insensitive, optional whitespace trimmed); nil when the fields hold no element at
    /// all (absent, or only empty), as `canonicalForm` would have returned none.
    func list(named name: String, contains token: String) -> Bool? {
        var present = false
        for (field, value) in self where ASCII.equalsIgnoringCase(field, name) {
            var rest = value.utf8[...]
            while !rest.isEmpty {
                let comma = rest.firstIndex(of: UInt8(ascii: ",")) ?? rest.endIndex
                var element = rest[..<comma]
                rest = comma == rest.endIndex ? rest[comma...] : rest[rest.index(after: comma)...]
                while let first = element.first, first == 0x20 || first == 0x09 { element = element.dropFirst() }
                while let last = element.last, last == 0x20 || last == 0x09 { element = element.dropLast() }
                guard !element.isEmpty else { continue }
                present = true
                if ASCII.equalsIgnoringCase(element, token.utf8) { return true }
            }
        }
        return present ? false : nil
    }
}

/// A request id for the logs: the client's `X-Request-Id` when it is a UUID (lower-cased), else
/// a fresh random (version 4) one. Foundation's `UUID()` opened `/dev/urandom` per call here.
enum RequestID {
    static func make(from header: String?) -> String {
        if let header, let parsed = canonical(header) { return parsed }
        var generator = SystemRandomNumberGenerator()
        var bytes = (generator.next() as UInt64, generator.next() as UInt64)
        return withUnsafeMutableBytes(of: &bytes) { raw in
            raw[6] = raw[6] & 0x0F | 0x40  // version 4
            raw[8] = raw[8] & 0x3F | 0x80  // RFC 9562 variant
            return format(UnsafeRawBufferPointer(raw))
        }
    }

    /// `header` as a lower-case hyphenated UUID, or nil when it is not one.
    static func canonical(_ header: String) -> String? {
        let utf8 = Array(header.utf8)
        guard utf8.count == 36 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 16)
        var nibble = 0
        for (offset, character) in utf8.enumerated() {
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard character == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let value = Hex.value(of: character) else { return nil }
            bytes[nibble / 2] |= nibble % 2 == 0 ? value << 4 : value
            nibble += 1
        }
        return bytes.withUnsafeBytes { format($0) }
    }

    private static func format(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: 36) { out in
            var position = 0
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 { out[position] = UInt8(ascii: "-"); position += 1 }
                out[position] = Hex.digit(byte >> 4)
                out[position + 1] = Hex.digit(byte & 0x0F)
                position += 2
            }
            return position
        }
    }
}
