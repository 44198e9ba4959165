/// `kas.RewrapResponse` in protobuf binary (kas-server.md §3), written straight from the engine's
/// model into one buffer: the server's `application/proto` answer, which every Go and Java SDK
/// asks for. Fields in number order, empty fields omitted, as Go's and swift-protobuf's
/// deterministic encoders write them; the tests decode it with the generated `Kas_RewrapResponse`.
///
/// Sizes are computed first (nested messages are length-prefixed), then bytes are written once:
/// no intermediate message structs, no per-KAO arrays.
extension RewrapResponse {
    public func protoBytes() -> [UInt8] {
        var writer = ProtoWriter(capacity: protoSize)
        if !entityWrappedKey.isEmpty { writer.bytes(field: 2, entityWrappedKey) }
        if !sessionPublicKey.isEmpty { writer.string(field: 3, sessionPublicKey) }
        for policy in responses {
            writer.header(field: 5, length: policy.protoSize)
            policy.writeProto(to: &writer)
        }
        return writer.buffer
    }

    var protoSize: Int {
        var size = 0
        if !entityWrappedKey.isEmpty { size += ProtoWriter.fieldSize(entityWrappedKey.count) }
        if !sessionPublicKey.isEmpty { size += ProtoWriter.fieldSize(sessionPublicKey.utf8.count) }
        for policy in responses { size += ProtoWriter.fieldSize(policy.protoSize) }
        return size
    }
}

extension PolicyRewrapResult {
    var protoSize: Int {
        var size = policyId.isEmpty ? 0 : ProtoWriter.fieldSize(policyId.utf8.count)
        for result in results { size += ProtoWriter.fieldSize(result.protoSize) }
        return size
    }

    func writeProto(to writer: inout ProtoWriter) {
        if !policyId.isEmpty { writer.string(field: 1, policyId) }
        for result in results {
            writer.header(field: 2, length: result.protoSize)
            result.writeProto(to: &writer)
        }
    }
}

extension KeyAccessRewrapResult {
    // metadata = map<string, google.protobuf.Value>, one entry:
    //   entry { key = 1: "X-Required-Obligations"; value = 2: Value { list_value = 6: ListValue {
    //     values = 1: Value { string_value = 3: obligation } … } } }
    private var listSize: Int {
        requiredObligations.reduce(0) { $0 + ProtoWriter.fieldSize(ProtoWriter.fieldSize($1.utf8.count)) }
    }
    private var valueSize: Int { ProtoWriter.fieldSize(listSize) }
    private var entrySize: Int { ProtoWriter.fieldSize(requiredObligationsMetadataKey.utf8.count) + ProtoWriter.fieldSize(valueSize) }

    var protoSize: Int {
        var size = ProtoWriter.fieldSize(entrySize)
        if !keyAccessObjectId.isEmpty { size += ProtoWriter.fieldSize(keyAccessObjectId.utf8.count) }
        size += ProtoWriter.fieldSize(status.utf8.count)
        switch outcome {
        // A oneof member is written even when empty: its presence is the case.
        case .permit(let key): size += ProtoWriter.fieldSize(key.count)
        case .fail(let error): size += ProtoWriter.fieldSize(error.utf8.count)
        }
        return size
    }

    func writeProto(to writer: inout ProtoWriter) {
        writer.header(field: 1, length: entrySize)
        writer.string(field: 1, requiredObligationsMetadataKey)
        writer.header(field: 2, length: valueSize)
        writer.header(field: 6, length: listSize)
        for obligation in requiredObligations {
            writer.header(field: 1, length: ProtoWriter.fieldSize(obligation.utf8.count))
            writer.string(field: 3, obligation)
        }
        if !keyAccessObjectId.isEmpty { writer.string(field: 2, keyAccessObjectId) }
        writer.string(field: 3, status)
        switch outcome {
        case .permit(let key): writer.bytes(field: 4, key)
        case .fail(let error): writer.string(field: 5, error)
        }
    }
}

/// Length-delimited protobuf fields (wire type 2) into a byte array sized up front.
struct ProtoWriter {
    private(set) var buffer: [UInt8]

    init(capacity: Int) {
        buffer = []
        buffer.reserveCapacity(capacity)
    }

    /// Tag, length and payload of a length-delimited field with `length` payload bytes
    /// (field numbers here are < 16: a one-byte tag).
    static func fieldSize(_ length: Int) -> Int { 1 + varintSize(UInt64(length)) + length }

    static func varintSize(_ value: UInt64) -> Int {
        var value = value
        var size = 1
        while value >= 0x80 {
            value >>= 7
            size += 1
        }
        return size
    }

    mutating func header(field: Int, length: Int) {
        buffer.append(UInt8(field << 3 | 2))
        var value = UInt64(length)
        while value >= 0x80 {
            buffer.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        buffer.append(UInt8(value))
    }

    mutating func string(field: Int, _ text: String) {
        header(field: field, length: text.utf8.count)
        buffer.append(contentsOf: text.utf8)
    }

    mutating func bytes(field: Int, _ data: [UInt8]) {
        header(field: field, length: data.count)
        buffer.append(contentsOf: data)
    }
}
