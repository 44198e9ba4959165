import NIOCore
import RewrapProto
import SwiftProtobuf

/// `kas.RewrapRequest { string signed_request_token = 1; }` read straight from the request's
/// buffer: the token's bytes become the String the JWS parser reads, with no intermediate array
/// or message struct (issue #10: zero-copy on the way in). Protobuf rules: fields in any order,
/// the last occurrence of a scalar wins, unknown fields skipped by wire type, strings valid UTF-8.
enum RewrapRequestMessage {
    static func signedRequestToken(from body: ByteBuffer, codec: Codec) throws(ConnectError) -> String {
        switch codec {
        case .json:
            return try MessageCodec.decode(Kas_RewrapRequest.self, from: body, codec: .json).signedRequestToken
        case .proto:
            return try body.withUnsafeReadableBytes { bytes throws(ConnectError) in try signedRequestToken(proto: bytes) }
        }
    }

    static func signedRequestToken(proto bytes: UnsafeRawBufferPointer) throws(ConnectError) -> String {
        var reader = ProtoReader(bytes)
        var token: Range<Int>?
        while !reader.atEnd {
            guard let (field, wireType) = reader.tag() else { throw malformed }
            if field == 1 && wireType == 2 {
                guard let range = reader.lengthDelimited() else { throw malformed }
                token = range
            } else {
                guard reader.skip(wireType: wireType) else { throw malformed }
            }
        }
        guard let token else { return "" }
        guard let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[token]), as: UTF8.self) else {
            throw ConnectError(.invalidArgument, "unmarshal message: string field contains invalid UTF-8")
        }
        return text
    }

    private static let malformed = ConnectError(.invalidArgument, "unmarshal message: invalid protobuf kas.RewrapRequest")
}

/// The few protobuf wire rules the hand-written decoder needs.
struct ProtoReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { offset >= bytes.count }

    mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count && shift < 64 {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }

    mutating func tag() -> (field: UInt64, wireType: UInt64)? {
        guard let key = varint(), key >> 3 > 0 else { return nil }
        return (key >> 3, key & 7)
    }

    mutating func lengthDelimited() -> Range<Int>? {
        guard let length = varint(), length <= UInt64(bytes.count - offset) else { return nil }
        let range = offset..<(offset + Int(length))
        offset += Int(length)
        return range
    }

    mutating func skip(wireType: UInt64) -> Bool {
        switch wireType {
        case 0: return varint() != nil
        case 1: return advance(8)
        case 2: return lengthDelimited() != nil
        case 5: return advance(4)
        default: return false  // groups (3, 4) are not proto3
        }
    }

    private mutating func advance(_ count: Int) -> Bool {
        guard bytes.count - offset >= count else { return false }
        offset += count
        return true
    }
}
