import Foundation
@testable import RewrapClient
import RewrapCrypto
import RewrapWire
import Testing

/// The `.tdf` container: written as the Go SDK writes it, read back, bounded, and checked
/// against the DEK its KAOs carry.
@Suite struct TDFArchiveTests {
    static let rsaKey = try! PrivateKey.generate(.rsa2048)
    static let ecKey = try! PrivateKey.generate(.ecP256)

    /// Two KAS keys; the EC one's URL carries characters Go's JSON escapes.
    static var kas: [TDFWriter.KASPublicKey] {
        [
            TDFWriter.KASPublicKey(kid: "r1", key: rsaKey.publicKey, url: "https://kas.example.com/kas"),
            TDFWriter.KASPublicKey(kid: "e1", key: ecKey.publicKey, url: "https://kas.example.com/kas?a=<1>&b=2"),
        ]
    }

    static func archive(manifest: [UInt8], payload: [UInt8] = []) throws -> Data {
        try TDFArchive.zip([(TDFArchive.payloadEntryName, payload, false), (TDFArchive.manifestEntryName, manifest, false)])
    }

    static func entry(_ archive: Data, _ name: String) throws -> [UInt8] {
        try TDFArchive.readEntry(TDFArchive.open(archive), name: name, limit: TDFArchive.maxPayloadBytes)
    }

    /// The manifest of `archive` as a mutable JSON object.
    static func manifestObject(_ archive: Data) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(entry(archive, TDFArchive.manifestEntryName))) as? [String: Any])
    }

    static func json(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object))
    }

    // MARK: Round trip

    @Test func roundTripKeepsKAOsPolicyAndRootSignature() throws {
        let attribute = "https://example.com/attr/classification/value/secret"
        let built = try TDFArchive.build(plaintext: Array("hello, TDF".utf8), kas: Self.kas, attributes: [attribute])
        let manifest = try TDFArchive.readManifest(built.archive)

        #expect(manifest.keyAccess == built.keyAccess)
        #expect(manifest.keyAccess.map(\.keyType) == ["wrapped", "ec-wrapped"])
        #expect(manifest.keyAccess.map(\.kid) == ["r1", "e1"])
        #expect(manifest.keyAccess[1].kasURL == "https://kas.example.com/kas?a=<1>&b=2")
        #expect(manifest.policyBase64 == built.policyBase64)
        let policyJSON = try #require(Base64.decode(manifest.policyBase64, options: .strictStandard))
        let policy = try #require(JSONValue.parse(policyJSON))
        guard case .array(let attributes)? = policy.member("body")?.member("dataAttributes") else {
            Issue.record("policy has no dataAttributes")
            return
        }
        #expect(attributes.first?.member("attribute") == .string(attribute))

        #expect(manifest.rootSignature.algorithm == "HS256")
        #expect(manifest.rootSignature.signature.count == 32)
        #expect(manifest.segmentHashAlgorithm == "GMAC")
        #expect(manifest.segmentHashes.map(\.count) == [16])
        #expect(manifest.rootSignatureMatches(dek: built.dek))
        #expect(!manifest.rootSignatureMatches(dek: try TDFWriter.makeDEK()))
        #expect(try TDFArchive.decryptPayload(built.archive, dek: built.dek) == Array("hello, TDF".utf8))
    }

    /// The public `write` gives a DEK that opens what it wrote.
    @Test func writeReturnsTheDEKOfTheArchive() throws {
        let (archive, dek) = try TDFArchive.write(plaintext: [1, 2, 3], kas: Self.kas)
        #expect(dek.count == 32)
        #expect(try TDFArchive.readManifest(archive).rootSignatureMatches(dek: dek))
        #expect(try TDFArchive.decryptPayload(archive, dek: dek) == [1, 2, 3])
        #expect(throws: TDFArchiveError.invalidArgument("at least one KAS key is needed")) {
            try TDFArchive.write(plaintext: [1], kas: [])
        }
        #expect(throws: TDFArchiveError.invalidArgument("segment size must be 1 byte … 1 GiB")) {
            try TDFArchive.write(plaintext: [1], kas: Self.kas, segmentSize: 0)
        }
    }

    /// Field names, constants and order as `sdk/manifest.go` marshals them; payload entry first.
    @Test func manifestHasTheGoSDKLayout() throws {
        let built = try TDFArchive.build(plaintext: [UInt8](repeating: 7, count: 100), kas: Self.kas, segmentSize: 64)
        let bytes = try Self.entry(built.archive, TDFArchive.manifestEntryName)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("{\"encryptionInformation\":{\"type\":\"split\",\"policy\":\""))
        #expect(text.hasSuffix(",\"schemaVersion\":\"4.3.0\"}"))
        #expect(text.contains("\"url\":\"https://kas.example.com/kas?a=\\u003c1\\u003e\\u0026b=2\""))
        #expect(text.contains("{\"type\":\"wrapped\",\"url\":\"https://kas.example.com/kas\",\"protocol\":\"kas\",\"wrappedKey\":\""))
        #expect(text.contains("\"method\":{\"algorithm\":\"AES-256-GCM\",\"iv\":\"\",\"isStreamable\":true}"))
        #expect(text.contains("\"payload\":{\"type\":\"reference\",\"url\":\"0.payload\",\"protocol\":\"zip\",\"mimeType\":\"application/octet-stream\",\"isEncrypted\":true}"))
        #expect(text.contains("\"segmentHashAlg\":\"GMAC\",\"segmentSizeDefault\":64,\"encryptedSegmentSizeDefault\":92,\"segments\":[{\"hash\":\""))
        #expect(text.contains("\"segmentSize\":36,\"encryptedSegmentSize\":64}]"))

        let root = try #require(JSONValue.parse(bytes))
        let encryption = try #require(root.member("encryptionInformation"))
        #expect(encryption.member("integrityInformation")?.member("rootSignature")?.member("alg") == .string("HS256"))
        guard case .array(let kaos)? = encryption.member("keyAccess") else {
            Issue.record("no keyAccess array")
            return
        }
        #expect(kaos.map { $0.member("schemaVersion") } == [.string("1.0"), .string("1.0")])
        #expect(kaos[0].member("policyBinding")?.member("alg") == .string("HS256"))
        guard case .string(let pem)? = kaos[1].member("ephemeralPublicKey") else {
            Issue.record("EC KAO has no ephemeralPublicKey")
            return
        }
        #expect(pem.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        // The first local file header (30 bytes) is followed by its name: the payload comes first.
        #expect(Array(built.archive[30..<39]) == Array("0.payload".utf8))
    }

    @Test func goStringEscaping() {
        #expect(JSONWriter.quoted("a<b>&\"\\\n\r\t\u{01}\u{2028}é/", escaping: .goHTMLSafe) == "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\r\\t\\u0001\\u2028é/\"")
    }

    // MARK: Segments

    @Test func multiSegmentPayloadDecrypts() throws {
        let plaintext = try CryptoPrimitives.randomBytes(count: 2500)
        let built = try TDFArchive.build(plaintext: plaintext, kas: Self.kas, segmentSize: 1000)
        let manifest = try TDFArchive.readManifest(built.archive)
        let sizes = try TDFArchive.resolvedSegmentSizes(manifest)
        #expect(sizes.map(\.plain) == [1000, 1000, 500])
        #expect(sizes.map(\.encrypted) == [1028, 1028, 528])
        let payload = try Self.entry(built.archive, TDFArchive.payloadEntryName)
        #expect(payload.count == 2500 + 3 * 28)
        // GMAC segment hash = the segment's GCM tag.
        #expect(manifest.segmentHashes == [Array(payload[1012..<1028]), Array(payload[2040..<2056]), Array(payload[2568..<2584])])
        #expect(manifest.rootSignatureMatches(dek: built.dek))
        #expect(try TDFArchive.decryptPayload(built.archive, dek: built.dek) == plaintext)

        let empty = try TDFArchive.build(plaintext: [], kas: Self.kas, segmentSize: 1000)
        #expect(try TDFArchive.readManifest(empty.archive).segmentHashes.count == 1)
        #expect(try TDFArchive.decryptPayload(empty.archive, dek: empty.dek) == [])
    }

    @Test func tamperedSegmentFailsDecryption() throws {
        let built = try TDFArchive.build(plaintext: try CryptoPrimitives.randomBytes(count: 2500), kas: Self.kas, segmentSize: 1000)
        let manifest = try Self.entry(built.archive, TDFArchive.manifestEntryName)
        let payload = try Self.entry(built.archive, TDFArchive.payloadEntryName)

        var ciphertextFlipped = payload
        ciphertextFlipped[1028 + 12 + 5] ^= 0x01  // segment 1's ciphertext: its GCM tag fails
        #expect(throws: TDFArchiveError.segmentIntegrity(index: 1)) {
            try TDFArchive.decryptPayload(try Self.archive(manifest: manifest, payload: ciphertextFlipped), dek: built.dek)
        }
        var tagFlipped = payload
        tagFlipped[payload.count - 1] ^= 0x80  // segment 2's tag: no longer its manifest hash
        #expect(throws: TDFArchiveError.segmentIntegrity(index: 2)) {
            try TDFArchive.decryptPayload(try Self.archive(manifest: manifest, payload: tagFlipped), dek: built.dek)
        }
        #expect(throws: TDFArchiveError.rootSignatureMismatch) {
            try TDFArchive.decryptPayload(built.archive, dek: try TDFWriter.makeDEK())
        }
        #expect(throws: TDFArchiveError.invalidField("encryptionInformation.integrityInformation.segments")) {
            try TDFArchive.decryptPayload(try Self.archive(manifest: manifest, payload: Array(payload.dropLast())), dek: built.dek)
        }
        #expect(TDFArchiveError.segmentIntegrity(index: 1).description == "payload segment 1 failed its integrity check")
    }

    // MARK: Legacy forms

    /// Before spec 4.3.0: no schemaVersion, segment hashes and root signature base64 of hex text,
    /// the root signature computed over the concatenated hex text.
    @Test func legacyHexIntegrityIsAccepted() throws {
        let plaintext = try CryptoPrimitives.randomBytes(count: 2500)
        let built = try TDFArchive.build(plaintext: plaintext, kas: Self.kas, segmentSize: 1000, encoding: .legacyHex)
        #expect(try Self.manifestObject(built.archive)["schemaVersion"] == nil)
        let manifest = try TDFArchive.readManifest(built.archive)
        let hexDigits = Set("0123456789abcdef".utf8)
        #expect(manifest.rootSignature.signature.count == 64)
        #expect(manifest.rootSignature.signature.allSatisfy(hexDigits.contains))
        #expect(manifest.storedSegmentHashes.map(\.count) == [32, 32, 32])
        let payload = try Self.entry(built.archive, TDFArchive.payloadEntryName)
        #expect(manifest.segmentHashes == [Array(payload[1012..<1028]), Array(payload[2040..<2056]), Array(payload[2568..<2584])])
        #expect(manifest.rootSignatureMatches(dek: built.dek))
        #expect(!manifest.rootSignatureMatches(dek: try TDFWriter.makeDEK()))
        #expect(try TDFArchive.decryptPayload(built.archive, dek: built.dek) == plaintext)
    }

    /// An old KAO whose `policyBinding` is the bare hash string.
    @Test func legacyStringPolicyBindingIsAccepted() throws {
        let built = try TDFArchive.build(plaintext: [9], kas: Self.kas)
        var root = try Self.manifestObject(built.archive)
        var encryption = try #require(root["encryptionInformation"] as? [String: Any])
        var kaos = try #require(encryption["keyAccess"] as? [[String: Any]])
        let hash = try #require(built.keyAccess[0].policyBinding?.hash)
        kaos[0]["policyBinding"] = hash
        encryption["keyAccess"] = kaos
        root["encryptionInformation"] = encryption
        let manifest = try TDFArchive.readManifest(try Self.archive(manifest: try Self.json(root)))
        #expect(manifest.keyAccess[0].policyBinding == PolicyBinding(algorithm: "", hash: hash))
        #expect(manifest.keyAccess[1] == built.keyAccess[1])
        #expect(manifest.keyAccess[0].wrappedKey == built.keyAccess[0].wrappedKey)
    }

    // MARK: Rejections

    @Test func rejectsDataThatIsNotAZip() {
        #expect(throws: TDFArchiveError.notAZip) { try TDFArchive.readManifest(Data("this is not a zip archive".utf8)) }
        #expect(throws: TDFArchiveError.notAZip) { try TDFArchive.readManifest(Data()) }
        #expect(throws: TDFArchiveError.notAZip) { try TDFArchive.decryptPayload(Data([0x50, 0x4B, 3, 4]), dek: SecureBytes(count: 32)) }
    }

    @Test func rejectsAZipWithoutManifestOrPayload() throws {
        let noManifest = try TDFArchive.zip([(TDFArchive.payloadEntryName, [1, 2, 3], false)])
        #expect(throws: TDFArchiveError.missingEntry("0.manifest.json")) { try TDFArchive.readManifest(noManifest) }
        let built = try TDFArchive.build(plaintext: [1], kas: Self.kas)
        let manifestOnly = try TDFArchive.zip([(TDFArchive.manifestEntryName, try Self.entry(built.archive, TDFArchive.manifestEntryName), false)])
        #expect(throws: TDFArchiveError.missingEntry("0.payload")) { try TDFArchive.decryptPayload(manifestOnly, dek: built.dek) }
    }

    @Test func rejectsAManifestOverTheBound() throws {
        let limit = TDFArchive.maxManifestBytes
        // Declared size past the bound (deflated: the archive itself is small).
        let declared = try TDFArchive.zip([(TDFArchive.manifestEntryName, [UInt8](repeating: 0x20, count: limit + 1), true)])
        #expect(declared.count < 64 * 1024)
        #expect(throws: TDFArchiveError.entryTooLarge("0.manifest.json", limit: limit)) { try TDFArchive.readManifest(declared) }

        // A deflate bomb that declares 100 bytes: refused once the inflated bytes pass the bound.
        var bomb = [UInt8](try TDFArchive.zip([(TDFArchive.manifestEntryName, [UInt8](repeating: 0x20, count: 3 * limit), true)]))
        var patched = 0
        for offset in 0..<(bomb.count - 4) {
            let signature = UInt32(bomb[offset]) | UInt32(bomb[offset + 1]) << 8 | UInt32(bomb[offset + 2]) << 16 | UInt32(bomb[offset + 3]) << 24
            let sizeOffset: Int
            switch signature {
            case 0x0403_4B50: sizeOffset = offset + 22  // local file header: uncompressed size
            case 0x0201_4B50: sizeOffset = offset + 24  // central directory header: uncompressed size
            default: continue
            }
            bomb.replaceSubrange(sizeOffset..<(sizeOffset + 4), with: [100, 0, 0, 0])
            patched += 1
        }
        #expect(patched == 2)
        #expect(throws: TDFArchiveError.entryTooLarge("0.manifest.json", limit: limit)) { try TDFArchive.readManifest(Data(bomb)) }
    }

    @Test func rejectsBadJSONAndMissingFields() throws {
        #expect(throws: TDFArchiveError.badJSON) { try TDFArchive.readManifest(try Self.archive(manifest: Array("{not json".utf8))) }
        #expect(throws: TDFArchiveError.invalidField("manifest")) { try TDFArchive.readManifest(try Self.archive(manifest: Array("[]".utf8))) }

        let built = try TDFArchive.build(plaintext: [1], kas: Self.kas)
        let root = try Self.manifestObject(built.archive)
        /// The manifest with `change` applied to its `encryptionInformation`.
        func variant(_ change: (inout [String: Any]) throws -> Void) throws -> Data {
            var copy = root
            var encryption = try #require(copy["encryptionInformation"] as? [String: Any])
            try change(&encryption)
            copy["encryptionInformation"] = encryption
            return try Self.archive(manifest: try Self.json(copy))
        }
        func integrity(_ change: (inout [String: Any]) -> Void) throws -> Data {
            try variant { encryption in
                var integrity = try #require(encryption["integrityInformation"] as? [String: Any])
                change(&integrity)
                encryption["integrityInformation"] = integrity
            }
        }
        let integrityPath = "encryptionInformation.integrityInformation"

        #expect(throws: TDFArchiveError.missingField("encryptionInformation")) {
            try TDFArchive.readManifest(try Self.archive(manifest: Array("{\"payload\":{}}".utf8)))
        }
        #expect(throws: TDFArchiveError.missingField("encryptionInformation.policy")) {
            try TDFArchive.readManifest(try variant { $0["policy"] = nil })
        }
        #expect(throws: TDFArchiveError.missingField(integrityPath + ".rootSignature")) {
            try TDFArchive.readManifest(try integrity { $0["rootSignature"] = nil })
        }
        #expect(throws: TDFArchiveError.missingField(integrityPath + ".segmentHashAlg")) {
            try TDFArchive.readManifest(try integrity { $0["segmentHashAlg"] = nil })
        }
        #expect(throws: TDFArchiveError.invalidField(integrityPath + ".rootSignature.sig")) {
            try TDFArchive.readManifest(try integrity { $0["rootSignature"] = ["alg": "HS256", "sig": "not base64!"] })
        }
        #expect(throws: TDFArchiveError.missingField("encryptionInformation.keyAccess[0].wrappedKey")) {
            try TDFArchive.readManifest(try variant { encryption in
                var kaos = try #require(encryption["keyAccess"] as? [[String: Any]])
                kaos[0]["wrappedKey"] = nil
                encryption["keyAccess"] = kaos
            })
        }
        #expect(throws: TDFArchiveError.missingField("encryptionInformation.keyAccess")) {
            try TDFArchive.readManifest(try variant { $0["keyAccess"] = [Any]() })
        }
        #expect(throws: TDFArchiveError.tooManyKeyAccessObjects(TDFArchive.maxKeyAccessObjects + 1)) {
            try TDFArchive.readManifest(try variant { encryption in
                let kao = try #require((encryption["keyAccess"] as? [Any])?.first)
                encryption["keyAccess"] = Array(repeating: kao, count: TDFArchive.maxKeyAccessObjects + 1)
            })
        }
        // The limit itself is fine.
        let atLimit = try variant { encryption in
            let kao = try #require((encryption["keyAccess"] as? [Any])?.first)
            encryption["keyAccess"] = Array(repeating: kao, count: TDFArchive.maxKeyAccessObjects)
        }
        #expect(try TDFArchive.readManifest(atLimit).keyAccess.count == TDFArchive.maxKeyAccessObjects)
    }

    // MARK: Folders

    @Test func filesInFolderPicksTDFFilesOnlySortedByName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tdf-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["b.tdf", "a.TDF", "c.Tdf", "notes.txt", "d.tdf.bak", "tdf", "e.tdfx"] {
            try Data([1]).write(to: folder.appendingPathComponent(name))
        }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("dir.tdf"), withIntermediateDirectories: false)
        let nested = folder.appendingPathComponent("nested")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: false)
        try Data([1]).write(to: nested.appendingPathComponent("f.tdf"))

        #expect(try TDFArchive.files(in: folder).map(\.lastPathComponent) == ["a.TDF", "b.tdf", "c.Tdf"])
        let missing = folder.appendingPathComponent("missing")
        #expect(throws: TDFArchiveError.cannotList(missing.path)) { try TDFArchive.files(in: missing) }
    }
}
