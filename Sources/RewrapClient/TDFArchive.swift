import Foundation
import RewrapCrypto
import RewrapWire
import ZIPFoundation

/// The manifest fields a KAS and the benchmark need.
///
/// Read from `0.manifest.json` as the Go SDK writes it (`sdk/manifest.go`): KAOs through
/// RewrapWire's `KeyAccess` decoder, integrity values base64-decoded.
public struct TDFManifest: Sendable {
    /// `encryptionInformation.keyAccess`, in file order.
    public var keyAccess: [KeyAccess]
    /// `encryptionInformation.policy`: the base64 policy text the bindings are computed over.
    public var policyBase64: String
    /// `integrityInformation.rootSignature`: `alg` ("HS256" or "GMAC") and the base64-decoded `sig`
    /// (32 raw HMAC bytes, or 64 ASCII hex digits in files older than spec 4.3.0).
    public var rootSignature: (algorithm: String, signature: [UInt8])
    /// `integrityInformation.segmentHashAlg` ("GMAC" as the Go SDK writes it).
    public var segmentHashAlgorithm: String
    /// `integrityInformation.segments[].hash`, decoded to raw bytes (legacy hex forms are
    /// hex-decoded).
    public var segmentHashes: [[UInt8]]

    /// `schemaVersion` ("" in legacy files).
    var specVersion: String
    /// The segment hashes exactly as stored (base64-decoded only): the root signature covers
    /// these bytes, hex text included in legacy files, as the Go SDK computes it.
    var storedSegmentHashes: [[UInt8]]
    var segmentSizes: [SegmentSize]
    var segmentSizeDefault: Int64
    var encryptedSegmentSizeDefault: Int64

    /// A segment's declared sizes; 0 means "omitted, use the default" (as the Go SDK reads them).
    struct SegmentSize: Sendable {
        var plain: Int64
        var encrypted: Int64
    }

    /// True when the DEK reproduces the root signature: HMAC-SHA256(DEK, concatenated segment
    /// hashes) equals the signature raw (spec ≥ 4.3.0) or as lowercase hex (legacy), compared in
    /// constant time. A `GMAC` root signature does not depend on the DEK, so it never counts as
    /// reproduced (false).
    public func rootSignatureMatches(dek: SecureBytes) -> Bool {
        guard !Self.isGMAC(rootSignature.algorithm) else { return false }
        return hmacRootSignatureMatches(dek: dek)
    }

    /// The Go reader's check (`validateRootSignature`): HMAC for `HS256` (or any other name),
    /// for `GMAC` the last 16 bytes of the aggregate, which only the segment tags authenticate.
    func rootSignatureValidates(dek: SecureBytes) -> Bool {
        guard Self.isGMAC(rootSignature.algorithm) else { return hmacRootSignatureMatches(dek: dek) }
        let aggregate = storedSegmentHashes.flatMap { $0 }
        guard aggregate.count >= 16 else { return false }
        let tail = Array(aggregate[(aggregate.count - 16)...])
        return rootSignature.signature == tail || rootSignature.signature == tail.withUnsafeBytes { Hex.lowercase($0) }
    }

    private func hmacRootSignatureMatches(dek: SecureBytes) -> Bool {
        let aggregate = storedSegmentHashes.flatMap { $0 }
        let mac = SecureBytes(count: 32)
        do {
            try dek.withUnsafeBytes { (key) throws(CryptoError) in
                try withBytes(aggregate) { (message) throws(CryptoError) in
                    try CryptoWorker().hmacSHA256(key: key, message: message, into: mac.slice(0..<32))
                }
            }
        } catch {
            return false
        }
        let signature = rootSignature.signature
        return mac.withUnsafeBytes { macBytes in
            signature.withUnsafeBytes { signatureBytes in
                var hex = Hex.lowercase(macBytes)
                defer { secureWipe(&hex) }
                let raw = CryptoPrimitives.constantTimeEquals(macBytes, signatureBytes)
                let legacy = hex.withUnsafeBytes { CryptoPrimitives.constantTimeEquals($0, signatureBytes) }
                return raw || legacy
            }
        }
    }

    static func isGMAC(_ algorithm: String) -> Bool { algorithm.lowercased() == "gmac" }
}

/// The `.tdf` container (OpenTDF TDF3/ZTDF): a ZIP holding `0.payload` (AES-256-GCM segments,
/// each nonce‖ciphertext‖tag) and `0.manifest.json`, written and read as the Go SDK does.
public enum TDFArchive {
    /// The manifest's name inside the ZIP.
    public static let manifestEntryName = "0.manifest.json"
    /// The payload's name inside the ZIP.
    public static let payloadEntryName = "0.payload"
    /// Largest manifest read (the Go SDK's default bound is 10 MB).
    public static let maxManifestBytes = 8 * 1024 * 1024
    /// Most KAOs a manifest may carry.
    public static let maxKeyAccessObjects = 1024
    /// Largest payload `decryptPayload` reads into memory.
    public static let maxPayloadBytes = 1 << 30
    /// The TDF spec version the Go SDK writes as `schemaVersion` (`sdk/version.go`).
    static let specVersion = "4.3.0"
    /// Go's `keyAccessSchemaVersion`, written on every KAO.
    static let keyAccessSchemaVersion = "1.0"
    static let gcmOverhead = CryptoWorker.gcmOverhead
    static let gcmTagBytes = CryptoWorker.gcmTagByteCount

    /// How integrity values are written: raw bytes (spec 4.3.0, the Go SDK's default) or the
    /// legacy hex text of older files (which also carry no `schemaVersion`).
    enum IntegrityEncoding: Sendable {
        case raw
        case legacyHex
    }

    /// What `build` produced, for tests that compare the manifest with what went in.
    struct Built {
        var archive: Data
        var dek: SecureBytes
        var keyAccess: [KeyAccess]
        var policyBase64: String
    }

    // MARK: Writing

    /// A complete .tdf: payload AES-256-GCM encrypted in segments (nonce‖ciphertext‖tag per
    /// segment), one KAO per KAS key given (split keys are not needed: every KAO wraps the same
    /// DEK), manifest as the Go SDK writes it (schemaVersion, payload reference to `0.payload`,
    /// `split` encryption information, HS256 root signature over GMAC segment hashes, policy).
    public static func write(
        plaintext: [UInt8], kas: [TDFWriter.KASPublicKey], attributes: [String] = [],
        segmentSize: Int = 2 * 1024 * 1024, writer: TDFWriter = TDFWriter()
    ) throws -> (archive: Data, dek: SecureBytes) {
        let built = try build(plaintext: plaintext, kas: kas, attributes: attributes, segmentSize: segmentSize, writer: writer)
        return (built.archive, built.dek)
    }

    static func build(
        plaintext: [UInt8], kas: [TDFWriter.KASPublicKey], attributes: [String] = [],
        segmentSize: Int = 2 * 1024 * 1024, writer: TDFWriter = TDFWriter(), encoding: IntegrityEncoding = .raw
    ) throws -> Built {
        guard !kas.isEmpty else { throw TDFArchiveError.invalidArgument("at least one KAS key is needed") }
        guard segmentSize > 0, segmentSize <= 1 << 30 else {
            throw TDFArchiveError.invalidArgument("segment size must be 1 byte … 1 GiB")
        }
        do {
            let dek = try TDFWriter.makeDEK()
            let segmentCount = max(1, (plaintext.count + segmentSize - 1) / segmentSize)
            var payload = [UInt8](repeating: 0, count: plaintext.count + segmentCount * gcmOverhead)
            var segments: [(hash: [UInt8], plain: Int)] = []
            let worker = CryptoWorker()
            try dek.withUnsafeBytes { key in
                try plaintext.withUnsafeBytes { input in
                    try payload.withUnsafeMutableBytes { output in
                        for index in 0..<segmentCount {
                            let start = index * segmentSize
                            let end = min(start + segmentSize, plaintext.count)
                            let offset = start + index * gcmOverhead
                            let sealed = UnsafeMutableRawBufferPointer(rebasing: output[offset..<(offset + end - start + gcmOverhead)])
                            let nonce = UnsafeMutableRawBufferPointer(rebasing: sealed[0..<CryptoWorker.gcmNonceByteCount])
                            try CryptoPrimitives.randomBytes(nonce)
                            try worker.aesGCMSeal(key: key, nonce: UnsafeRawBufferPointer(nonce),
                                                  plaintext: UnsafeRawBufferPointer(rebasing: input[start..<end]), into: sealed)
                            // GMAC segment hash = the segment's GCM tag.
                            segments.append((Array(sealed[(sealed.count - gcmTagBytes)...]), end - start))
                        }
                    }
                }
            }
            let storedHashes = segments.map { encoding == .raw ? $0.hash : $0.hash.withUnsafeBytes { Hex.lowercase($0) } }
            let mac = SecureBytes(count: 32)
            try dek.withUnsafeBytes { key in
                try storedHashes.flatMap { $0 }.withUnsafeBytes { aggregate in
                    try worker.hmacSHA256(key: key, message: aggregate, into: mac.slice(0..<32))
                }
            }
            let signature = encoding == .raw ? mac.copyBytes() : mac.withUnsafeBytes { Hex.lowercase($0) }

            let policy = TDFWriter.policyBase64(attributes: attributes)
            let kaos = try kas.map { try writer.keyAccess(dek: dek, policyBase64: policy, kas: $0) }

            var json = GoJSON()
            json.open("encryptionInformation")
            json.member("type", "split")
            json.member("policy", policy)
            json.key("keyAccess")
            json.raw("[")
            for (index, kao) in kaos.enumerated() {
                if index > 0 { json.raw(",") }
                json.keyAccessObject(kao)
            }
            json.raw("]")
            json.open("method")
            json.member("algorithm", "AES-256-GCM")
            json.member("iv", "")
            json.member("isStreamable", true)
            json.close()
            json.open("integrityInformation")
            json.open("rootSignature")
            json.member("alg", "HS256")
            json.member("sig", Base64.encode(signature))
            json.close()
            json.member("segmentHashAlg", "GMAC")
            json.member("segmentSizeDefault", Int64(segmentSize))
            json.member("encryptedSegmentSizeDefault", Int64(segmentSize + gcmOverhead))
            json.key("segments")
            json.raw("[")
            for (index, segment) in segments.enumerated() {
                if index > 0 { json.raw(",") }
                json.raw("{")
                json.member("hash", Base64.encode(storedHashes[index]))
                json.member("segmentSize", Int64(segment.plain))
                json.member("encryptedSegmentSize", Int64(segment.plain + gcmOverhead))
                json.raw("}")
            }
            json.raw("]")
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
            let manifest = json.finish()

            let archive = try zip([(payloadEntryName, payload, false), (manifestEntryName, manifest, false)])
            return Built(archive: archive, dek: dek, keyAccess: kaos, policyBase64: policy)
        } catch let error as TDFArchiveError {
            throw error
        } catch let error as CryptoError {
            throw TDFArchiveError.crypto(error)
        }
    }

    /// A ZIP of `entries` in order, stored or deflated (tests use it to build odd archives).
    static func zip(_ entries: [(name: String, bytes: [UInt8], deflate: Bool)]) throws -> Data {
        do {
            let archive = try Archive(data: Data(), accessMode: .create)
            for entry in entries {
                try archive.addEntry(
                    with: entry.name, type: .file, uncompressedSize: Int64(entry.bytes.count),
                    compressionMethod: entry.deflate ? .deflate : .none
                ) { position, size in
                    Data(entry.bytes[Int(position)..<(Int(position) + size)])
                }
            }
            guard let data = archive.data else { throw TDFArchiveError.invalidArgument("the ZIP could not be written") }
            return data
        } catch let error as TDFArchiveError {
            throw error
        } catch {
            throw TDFArchiveError.invalidArgument("the ZIP could not be written")
        }
    }

    // MARK: Reading

    /// Reads the manifest of a .tdf. Size-bounded: the manifest may be at most
    /// `maxManifestBytes` and carry at most `maxKeyAccessObjects` KAOs; a ZIP entry whose declared
    /// or actual size passes the bound is rejected, never fully inflated. Throws
    /// `TDFArchiveError` (not a ZIP, no `0.manifest.json`, bad JSON, missing or invalid fields).
    public static func readManifest(_ archive: Data) throws -> TDFManifest {
        let zip = try open(archive)
        return try parseManifest(readEntry(zip, name: manifestEntryName, limit: maxManifestBytes))
    }

    /// Every `.tdf` file (by extension, case-insensitive) in a folder, sorted by name; not
    /// recursive; folders and hidden files are left out.
    public static func files(in folder: URL) throws -> [URL] {
        let contents: [URL]
        do {
            contents = try FileManager.default.contentsOfDirectory(
                at: folder, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles])
        } catch {
            throw TDFArchiveError.cannotList(folder.path)
        }
        return contents.filter { url in
            var isDirectory: ObjCBool = false
            return url.pathExtension.lowercased() == "tdf"
                && FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
        .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Decrypts the payload with the DEK (for tests and users). Checks the root signature, then
    /// every segment: its manifest hash and its AES-GCM tag.
    public static func decryptPayload(_ archive: Data, dek: SecureBytes) throws -> [UInt8] {
        let zip = try open(archive)
        let manifest = try parseManifest(readEntry(zip, name: manifestEntryName, limit: maxManifestBytes))
        let sizes = try resolvedSegmentSizes(manifest)
        let total = sizes.reduce(0) { $0 + $1.encrypted }
        guard total <= maxPayloadBytes else { throw TDFArchiveError.entryTooLarge(payloadEntryName, limit: maxPayloadBytes) }
        let payload = try readEntry(zip, name: payloadEntryName, limit: total)
        guard payload.count == total else { throw TDFArchiveError.invalidField(segmentsPath) }
        guard manifest.rootSignatureValidates(dek: dek) else { throw TDFArchiveError.rootSignatureMismatch }

        let hmacSegments = !TDFManifest.isGMAC(manifest.segmentHashAlgorithm)
        let worker = CryptoWorker()
        var plaintext = [UInt8](repeating: 0, count: sizes.reduce(0) { $0 + $1.plain })
        var failed: Int?
        dek.withUnsafeBytes { key in
            payload.withUnsafeBytes { input in
                plaintext.withUnsafeMutableBytes { output in
                    var inputOffset = 0
                    var outputOffset = 0
                    for (index, size) in sizes.enumerated() {
                        let sealed = UnsafeRawBufferPointer(rebasing: input[inputOffset..<(inputOffset + size.encrypted)])
                        inputOffset += size.encrypted
                        let expected = manifest.segmentHashes[index]
                        let actual: [UInt8]
                        if hmacSegments {
                            let mac = SecureBytes(count: 32)
                            guard (try? worker.hmacSHA256(key: key, message: sealed, into: mac.slice(0..<32))) != nil else {
                                failed = index
                                return
                            }
                            actual = mac.copyBytes()
                        } else {
                            actual = Array(sealed[(sealed.count - gcmTagBytes)...])
                        }
                        let opened = UnsafeMutableRawBufferPointer(rebasing: output[outputOffset..<(outputOffset + size.plain)])
                        outputOffset += size.plain
                        guard actual == expected,
                              (try? worker.aesGCMOpen(key: key, sealed: sealed, into: opened)) != nil
                        else {
                            failed = index
                            return
                        }
                    }
                }
            }
        }
        if let failed {
            secureWipe(&plaintext)
            throw TDFArchiveError.segmentIntegrity(index: failed)
        }
        return plaintext
    }

    static let segmentsPath = "encryptionInformation.integrityInformation.segments"

    /// Segment sizes as the Go reader resolves them (`resolveSegmentSizes`): an omitted (0)
    /// encrypted size is the default; an omitted plaintext size is the default when the encrypted
    /// one is; the pair must differ by exactly the GCM nonce and tag.
    static func resolvedSegmentSizes(_ manifest: TDFManifest) throws -> [(plain: Int, encrypted: Int)] {
        try manifest.segmentSizes.enumerated().map { index, segment in
            let encrypted = segment.encrypted == 0 ? manifest.encryptedSegmentSizeDefault : segment.encrypted
            var plain = segment.plain
            if plain == 0, encrypted == manifest.encryptedSegmentSizeDefault { plain = manifest.segmentSizeDefault }
            guard plain >= 0, encrypted >= Int64(gcmOverhead), plain == encrypted - Int64(gcmOverhead),
                  encrypted <= Int64(maxPayloadBytes)
            else { throw TDFArchiveError.invalidField("\(segmentsPath)[\(index)]") }
            return (Int(plain), Int(encrypted))
        }
    }

    static func open(_ data: Data) throws -> Archive {
        do {
            return try Archive(data: data, accessMode: .read)
        } catch {
            throw TDFArchiveError.notAZip
        }
    }

    private struct SizeExceeded: Error {}

    /// The bytes of entry `name`, refused as soon as its declared size or the bytes actually
    /// produced pass `limit` (a deflate bomb stops at the first chunk past it), and checked
    /// against the entry's CRC-32.
    static func readEntry(_ archive: Archive, name: String, limit: Int) throws -> [UInt8] {
        guard let entry = archive[name], entry.type == .file else { throw TDFArchiveError.missingEntry(name) }
        guard entry.uncompressedSize <= UInt64(limit) else { throw TDFArchiveError.entryTooLarge(name, limit: limit) }
        let declared = Int(entry.uncompressedSize)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(declared)
        do {
            let checksum = try archive.extract(entry, bufferSize: 64 * 1024) { chunk in
                guard bytes.count + chunk.count <= limit else { throw SizeExceeded() }
                bytes.append(contentsOf: chunk)
            }
            guard checksum == entry.checksum, bytes.count == declared else { throw TDFArchiveError.unreadableEntry(name) }
        } catch is SizeExceeded {
            throw TDFArchiveError.entryTooLarge(name, limit: limit)
        } catch let error as TDFArchiveError {
            throw error
        } catch {
            throw TDFArchiveError.unreadableEntry(name)
        }
        return bytes
    }

    // MARK: Manifest JSON

    /// Parses `0.manifest.json`. KAOs go through RewrapWire's `KeyAccess` decoder (a legacy
    /// string `policyBinding` becomes `{alg: "", hash: …}`, as the Go SDK sends it).
    static func parseManifest(_ json: [UInt8]) throws -> TDFManifest {
        let document: ManifestDocument
        do {
            document = try decodeDocument(Data(json))
        } catch DecodingError.typeMismatch(_, let context) {
            // Only a non-object `policyBinding` gets here: retry with string bindings converted.
            guard let patched = legacyBindingsPatched(json) else { throw TDFArchiveError.invalidField(path(context.codingPath)) }
            do {
                document = try decodeDocument(patched)
            } catch DecodingError.typeMismatch(_, let context) {
                throw TDFArchiveError.invalidField(path(context.codingPath))
            }
        }
        let encryption = document.encryptionInformation
        let integrity = encryption.integrityInformation
        for (index, kao) in encryption.keyAccess.enumerated() {
            let prefix = "encryptionInformation.keyAccess[\(index)]"
            if kao.keyType.isEmpty { throw TDFArchiveError.missingField(prefix + ".type") }
            if kao.wrappedKey.isEmpty { throw TDFArchiveError.missingField(prefix + ".wrappedKey") }
        }
        guard !encryption.keyAccess.isEmpty else { throw TDFArchiveError.missingField("encryptionInformation.keyAccess") }

        let signaturePath = "encryptionInformation.integrityInformation.rootSignature.sig"
        guard let signature = Base64.decode(integrity.rootSignature.sig, options: .strictStandard) else {
            throw TDFArchiveError.invalidField(signaturePath)
        }
        let rawHashLength = TDFManifest.isGMAC(integrity.segmentHashAlg) ? gcmTagBytes : 32
        var stored: [[UInt8]] = []
        var decoded: [[UInt8]] = []
        for (index, segment) in integrity.segments.enumerated() {
            guard let bytes = Base64.decode(segment.hash, options: .strictStandard) else {
                throw TDFArchiveError.invalidField("\(segmentsPath)[\(index)].hash")
            }
            stored.append(bytes)
            decoded.append(dehexed(bytes, rawLength: rawHashLength))
        }
        return TDFManifest(
            keyAccess: encryption.keyAccess, policyBase64: encryption.policy,
            rootSignature: (integrity.rootSignature.alg, signature), segmentHashAlgorithm: integrity.segmentHashAlg,
            segmentHashes: decoded, specVersion: document.schemaVersion ?? "", storedSegmentHashes: stored,
            segmentSizes: integrity.segments.map { .init(plain: $0.segmentSize ?? 0, encrypted: $0.encryptedSegmentSize ?? 0) },
            segmentSizeDefault: integrity.segmentSizeDefault ?? 0,
            encryptedSegmentSizeDefault: integrity.encryptedSegmentSizeDefault ?? 0)
    }

    private static func decodeDocument(_ data: Data) throws -> ManifestDocument {
        do {
            return try JSONDecoder().decode(ManifestDocument.self, from: data)
        } catch let error as TDFArchiveError {
            throw error
        } catch DecodingError.dataCorrupted(let context) {
            throw context.codingPath.isEmpty ? TDFArchiveError.badJSON : TDFArchiveError.invalidField(path(context.codingPath))
        } catch DecodingError.keyNotFound(let key, let context) {
            throw TDFArchiveError.missingField(path(context.codingPath + [key]))
        } catch DecodingError.valueNotFound(_, let context) {
            throw TDFArchiveError.missingField(path(context.codingPath))
        } catch DecodingError.typeMismatch(let type, let context) {
            if isPolicyBinding(context.codingPath) { throw DecodingError.typeMismatch(type, context) }
            throw TDFArchiveError.invalidField(path(context.codingPath))
        } catch {
            throw TDFArchiveError.badJSON
        }
    }

    private static func isPolicyBinding(_ codingPath: [any CodingKey]) -> Bool {
        codingPath.count == 4 && codingPath[1].stringValue == "keyAccess" && codingPath[3].stringValue == "policyBinding"
    }

    /// The manifest with every string `policyBinding` turned into `{"alg": "", "hash": …}`.
    private static func legacyBindingsPatched(_ json: [UInt8]) -> Data? {
        guard var root = (try? JSONSerialization.jsonObject(with: Data(json))) as? [String: Any],
              var encryption = root["encryptionInformation"] as? [String: Any],
              var kaos = encryption["keyAccess"] as? [Any]
        else { return nil }
        for index in kaos.indices {
            guard var kao = kaos[index] as? [String: Any], let hash = kao["policyBinding"] as? String else { continue }
            kao["policyBinding"] = ["alg": "", "hash": hash]
            kaos[index] = kao
        }
        encryption["keyAccess"] = kaos
        root["encryptionInformation"] = encryption
        return try? JSONSerialization.data(withJSONObject: root)
    }

    /// `a.b[2].c` for a decoding path.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text.isEmpty ? "manifest" : text
    }

    /// `bytes` hex-decoded when they are exactly the hex text of a `rawLength`-byte value.
    static func dehexed(_ bytes: [UInt8], rawLength: Int) -> [UInt8] {
        guard bytes.count == 2 * rawLength else { return bytes }
        var copy = bytes
        let count = copy.count
        let isHex = copy.withUnsafeMutableBytes { Hex.decodeInPlace($0, count: count) }
        return isHex ? Array(copy[0..<rawLength]) : bytes
    }
}

// MARK: - Manifest decoding (Go field names, sdk/manifest.go)

private struct ManifestDocument: Decodable {
    var encryptionInformation: EncryptionInformation
    var schemaVersion: String?

    struct EncryptionInformation: Decodable {
        var policy: String
        var keyAccess: [KeyAccess]
        var integrityInformation: IntegrityInformation

        enum CodingKeys: String, CodingKey {
            case policy, keyAccess, integrityInformation
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            policy = try container.decode(String.self, forKey: .policy)
            var list = try container.nestedUnkeyedContainer(forKey: .keyAccess)
            if let count = list.count, count > TDFArchive.maxKeyAccessObjects {
                throw TDFArchiveError.tooManyKeyAccessObjects(count)
            }
            var kaos: [KeyAccess] = []
            while !list.isAtEnd { kaos.append(try list.decode(KeyAccess.self)) }
            keyAccess = kaos
            integrityInformation = try container.decode(IntegrityInformation.self, forKey: .integrityInformation)
        }
    }

    struct IntegrityInformation: Decodable {
        var rootSignature: RootSignature
        var segmentHashAlg: String
        var segmentSizeDefault: Int64?
        var encryptedSegmentSizeDefault: Int64?
        var segments: [Segment]
    }

    struct RootSignature: Decodable {
        var alg: String
        var sig: String
    }

    struct Segment: Decodable {
        var hash: String
        var segmentSize: Int64?
        var encryptedSegmentSize: Int64?
    }
}

// MARK: - Manifest encoding: Go's `json.Marshal` field order and string escaping

struct GoJSON {
    private var text = "{"
    private var needsComma = false

    mutating func raw(_ fragment: String) {
        if fragment == "}" || fragment == "]" {
            needsComma = true
        } else if fragment == "[" || fragment == "{" {
            needsComma = false
        } else if fragment == "," {
            needsComma = false
        }
        text += fragment
    }

    mutating func key(_ name: String) {
        if needsComma { text += "," }
        text += Self.quoted(name) + ":"
        needsComma = false
    }

    mutating func open(_ name: String) {
        key(name)
        raw("{")
    }

    mutating func close() { raw("}") }

    mutating func member(_ name: String, _ value: String) {
        key(name)
        text += Self.quoted(value)
        needsComma = true
    }

    mutating func member(_ name: String, _ value: Int64) {
        key(name)
        text += String(value)
        needsComma = true
    }

    mutating func member(_ name: String, _ value: Bool) {
        key(name)
        text += value ? "true" : "false"
        needsComma = true
    }

    /// A KAO as `sdk/manifest.go` `KeyAccess` marshals it: type, url, protocol, wrappedKey,
    /// policyBinding, then the `omitempty` fields, with `schemaVersion` "1.0".
    mutating func keyAccessObject(_ kao: KeyAccess) {
        raw("{")
        member("type", kao.keyType)
        member("url", kao.kasURL)
        member("protocol", kao.protocol)
        member("wrappedKey", Base64.encode(kao.wrappedKey))
        if let binding = kao.policyBinding {
            open("policyBinding")
            member("alg", binding.algorithm)
            member("hash", binding.hash)
            close()
        } else {
            key("policyBinding")
            raw("null")
            needsComma = true
        }
        if !kao.encryptedMetadata.isEmpty { member("encryptedMetadata", kao.encryptedMetadata) }
        if !kao.kid.isEmpty { member("kid", kao.kid) }
        if !kao.splitID.isEmpty { member("sid", kao.splitID) }
        member("schemaVersion", TDFArchive.keyAccessSchemaVersion)
        if !kao.ephemeralPublicKey.isEmpty { member("ephemeralPublicKey", kao.ephemeralPublicKey) }
        raw("}")
    }

    mutating func finish() -> [UInt8] {
        text += "}"
        return Array(text.utf8)
    }

    /// Go's escaping: `"` `\` and control characters, plus `<` `>` `&` U+2028 U+2029 as `\uXXXX`.
    static func quoted(_ value: String) -> String {
        let hexDigits = Array("0123456789abcdef")
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += "\\u" + String((0..<4).map { hexDigits[Int(scalar.value >> (12 - 4 * UInt32($0))) & 0xF] })
            default:
                if scalar.value < 0x20 {
                    out += "\\u00" + String([hexDigits[Int(scalar.value >> 4)], hexDigits[Int(scalar.value & 0xF)]])
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

// MARK: - Errors

/// Why a .tdf could not be written or read. Messages name files, fields and sizes, never key
/// material or field values.
public enum TDFArchiveError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The data is not a ZIP archive.
    case notAZip
    /// A required ZIP entry (`0.manifest.json`, `0.payload`) is absent.
    case missingEntry(String)
    /// A ZIP entry's declared or actual size passes the bound.
    case entryTooLarge(String, limit: Int)
    /// A ZIP entry could not be read back intact (bad CRC, truncated, size differs from the header).
    case unreadableEntry(String)
    /// The manifest is not JSON.
    case badJSON
    /// A required manifest field is absent or null (dotted path).
    case missingField(String)
    /// A manifest field has the wrong type or an undecodable value (dotted path).
    case invalidField(String)
    /// More KAOs than `TDFArchive.maxKeyAccessObjects`.
    case tooManyKeyAccessObjects(Int)
    /// A writer argument is out of range.
    case invalidArgument(String)
    /// A payload segment does not match its manifest hash or fails AES-GCM authentication.
    case segmentIntegrity(index: Int)
    /// The DEK does not reproduce the manifest's root signature.
    case rootSignatureMismatch
    /// A cryptographic operation failed while writing.
    case crypto(CryptoError)
    /// The folder could not be listed.
    case cannotList(String)

    public var description: String {
        switch self {
        case .notAZip: return "not a TDF: the data is not a ZIP archive"
        case .missingEntry(let name): return "not a TDF: the ZIP has no \(name)"
        case .entryTooLarge(let name, let limit): return "\(name) is larger than the \(limit)-byte limit"
        case .unreadableEntry(let name): return "\(name) is corrupt in the ZIP (size or CRC-32 mismatch)"
        case .badJSON: return "the manifest is not valid JSON"
        case .missingField(let path): return "the manifest has no \(path)"
        case .invalidField(let path): return "the manifest's \(path) is invalid"
        case .tooManyKeyAccessObjects(let count):
            return "the manifest has \(count) key access objects (at most \(TDFArchive.maxKeyAccessObjects))"
        case .invalidArgument(let why): return "cannot write the TDF: \(why)"
        case .segmentIntegrity(let index): return "payload segment \(index) failed its integrity check"
        case .rootSignatureMismatch: return "the key does not match the TDF's root signature"
        case .crypto(let error): return "cannot write the TDF: \(error)"
        case .cannotList(let path): return "cannot list the folder \(path)"
        }
    }
}
