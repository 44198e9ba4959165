import NIOCore
import SwiftProtobuf

/// Decoding and encoding of the cold-path messages (PublicKey, health) with the generated
/// types. Rewrap's own messages take the hand-written paths in `RewrapMessages.swift`.
enum MessageCodec {
    static func decode<M: SwiftProtobuf.Message>(_: M.Type, from body: ByteBuffer, codec: Codec) throws(ConnectError) -> M {
        let bytes = Array(body.readableBytesView)
        do {
            switch codec {
            case .proto:
                return try M(serializedBytes: bytes)
            case .json:
                // connect-go `codec.go:170-186`.
                guard !bytes.isEmpty else { throw ConnectError(.invalidArgument, "zero-length payload is not a valid JSON object") }
                var options = JSONDecodingOptions()
                options.ignoreUnknownFields = true
                return try M(jsonUTF8Bytes: bytes, options: options)
            }
        } catch let error as ConnectError {
            throw error
        } catch {
            throw ConnectError(.invalidArgument, "unmarshal message: invalid \(codec == .proto ? "protobuf" : "JSON") \(M.protoMessageName)")
        }
    }

    static func encode<M: SwiftProtobuf.Message>(_ message: M, codec: Codec) -> [UInt8] {
        do {
            switch codec {
            case .proto: return try message.serializedBytes()
            case .json: return try message.jsonUTF8Bytes()
            }
        } catch {
            // Only unset required fields or non-finite doubles fail; these messages have neither.
            preconditionFailure("encoding \(M.protoMessageName) failed: \(error)")
        }
    }
}
