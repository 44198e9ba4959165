/// `kas.RewrapRequest` in protobuf binary, as a client sends it with `application/proto`
/// (kas-server.md §3: field 1, the signed request token; the deprecated fields stay unset).
package enum RewrapRequestProto {
    package static func encode(signedRequestToken token: String) -> [UInt8] {
        var writer = ProtoWriter(capacity: ProtoWriter.fieldSize(token.utf8.count))
        writer.string(field: 1, token)
        return writer.buffer
    }
}
