import RewrapWire

extension TDFArchive {
    /// `0.manifest.json` as `build` writes it: the Go SDK's fields in `sdk/manifest.go` order,
    /// HS256 root signature, GMAC segment hashes, and `schemaVersion` unless legacy.
    static func manifestJSON(
        policyBase64: String, keyAccess: [KeyAccess], rootSignature: [UInt8],
        segments: [(storedHash: [UInt8], plain: Int)], segmentSize: Int, encoding: IntegrityEncoding
    ) -> [UInt8] {
        var json = ManifestJSON()
        json.open("encryptionInformation")
        json.member("type", "split")
        json.member("policy", policyBase64)
        json.openArray("keyAccess")
        for kao in keyAccess { json.keyAccessObject(kao) }
        json.closeArray()
        json.open("method")
        json.member("algorithm", "AES-256-GCM")
        json.member("iv", "")
        json.member("isStreamable", true)
        json.close()
        json.open("integrityInformation")
        json.open("rootSignature")
        json.member("alg", "HS256")
        json.base64Member("sig", rootSignature)
        json.close()
        json.member("segmentHashAlg", "GMAC")
        json.member("segmentSizeDefault", Int64(segmentSize))
        json.member("encryptedSegmentSizeDefault", Int64(segmentSize + gcmOverhead))
        json.openArray("segments")
        for segment in segments {
            json.openObject()
            json.base64Member("hash", segment.storedHash)
            json.member("segmentSize", Int64(segment.plain))
            json.member("encryptedSegmentSize", Int64(segment.plain + gcmOverhead))
            json.close()
        }
        json.closeArray()
        json.close()  // integrityInformation
        json.close()  // encryptionInformation
        json.open("payload")
        json.member("type", "reference")
        json.member("url", payloadEntryName)
        json.member("protocol", "zip")
        json.member("mimeType", "application/octet-stream")
        json.member("isEncrypted", true)
        json.close()
        if encoding == .raw { json.member("schemaVersion", specVersion) }
        return json.finish()
    }
}

/// Go's `json.Marshal` output for the manifest: members in struct field order, separated by
/// commas as they come, strings escaped HTML-safe as Go does (`JSONWriter`'s `.goHTMLSafe`).
struct ManifestJSON {
    private var writer = JSONWriter(capacity: 2048, escaping: .goHTMLSafe)
    /// True after a value, so the next member or array element starts with a comma.
    private var needsComma = false

    init() {
        writer.raw("{")
    }

    /// `"name":`, after a comma when a value precedes it.
    mutating func key(_ name: StaticString) {
        if needsComma { writer.raw(",") }
        writer.key(name)
        needsComma = false
    }

    /// `"name":{`.
    mutating func open(_ name: StaticString) {
        key(name)
        openObject()
    }

    /// `{` as a value or an array element.
    mutating func openObject() {
        if needsComma { writer.raw(",") }
        writer.raw("{")
        needsComma = false
    }

    mutating func close() {
        writer.raw("}")
        needsComma = true
    }

    /// `"name":[`.
    mutating func openArray(_ name: StaticString) {
        key(name)
        writer.raw("[")
        needsComma = false
    }

    mutating func closeArray() {
        writer.raw("]")
        needsComma = true
    }

    mutating func member(_ name: StaticString, _ value: String) {
        key(name)
        writer.string(value)
        needsComma = true
    }

    mutating func member(_ name: StaticString, _ value: Int64) {
        key(name)
        writer.number(value)
        needsComma = true
    }

    mutating func member(_ name: StaticString, _ value: Bool) {
        key(name)
        writer.bool(value)
        needsComma = true
    }

    /// A `[]byte` field: Go marshals it as standard padded base64.
    mutating func base64Member(_ name: StaticString, _ value: [UInt8]) {
        key(name)
        writer.base64(value)
        needsComma = true
    }

    /// A KAO as `sdk/manifest.go` `KeyAccess` marshals it: type, url, protocol, wrappedKey,
    /// policyBinding, then the `omitempty` fields, with `schemaVersion` "1.0".
    mutating func keyAccessObject(_ kao: KeyAccess) {
        openObject()
        member("type", kao.keyType)
        member("url", kao.kasURL)
        member("protocol", kao.protocol)
        base64Member("wrappedKey", kao.wrappedKey)
        if let binding = kao.policyBinding {
            open("policyBinding")
            member("alg", binding.algorithm)
            member("hash", binding.hash)
            close()
        } else {
            key("policyBinding")
            writer.raw("null")
            needsComma = true
        }
        if !kao.encryptedMetadata.isEmpty { member("encryptedMetadata", kao.encryptedMetadata) }
        if !kao.kid.isEmpty { member("kid", kao.kid) }
        if !kao.splitID.isEmpty { member("sid", kao.splitID) }
        member("schemaVersion", TDFArchive.keyAccessSchemaVersion)
        if !kao.ephemeralPublicKey.isEmpty { member("ephemeralPublicKey", kao.ephemeralPublicKey) }
        close()
    }

    mutating func finish() -> [UInt8] {
        writer.raw("}")
        return writer.bytes
    }
}
