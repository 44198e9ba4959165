import Foundation
import RewrapCrypto
import ZIPFoundation

/// Reading a .tdf: the manifest, the folder listing, the payload, every ZIP entry size-bounded.
extension TDFArchive {
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
}
