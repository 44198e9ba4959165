import Foundation
import RewrapCrypto
import RewrapWire
import ZIPFoundation

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

            let manifest = manifestJSON(
                policyBase64: policy, keyAccess: kaos, rootSignature: signature,
                segments: Swift.zip(storedHashes, segments).map { ($0, $1.plain) }, segmentSize: segmentSize, encoding: encoding)

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

}
