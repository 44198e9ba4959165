import Foundation
import RewrapWire

/// Reading `0.manifest.json`: Go field names (`sdk/manifest.go`), bounded KAO count, legacy
/// string bindings and hex integrity values accepted as the Go reader accepts them.
extension TDFArchive {
    /// Parses `0.manifest.json`. KAOs are read under the manifest's Go field names (a legacy
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
            while !list.isAtEnd { kaos.append(try list.decode(ManifestKeyAccess.self).keyAccess) }
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

/// A manifest KAO under `sdk/manifest.go`'s field names (the request's proto3-JSON reader is
/// RewrapWire's); absent strings are "", a `policyBinding` that is not an object is a type
/// mismatch the caller retries as a legacy string binding.
private struct ManifestKeyAccess: Decodable {
    var keyAccess: KeyAccess

    private enum Field: String, CodingKey {
        case type, url, `protocol`, kid, sid, wrappedKey, policyBinding, ephemeralPublicKey, encryptedMetadata, header
    }

    private struct Binding: Decodable {
        var alg: String?
        var hash: String?
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Field.self)
        func text(_ field: Field) throws -> String { try c.decodeIfPresent(String.self, forKey: field) ?? "" }
        func bytes(_ field: Field) throws -> [UInt8] {
            let encoded = try text(field)
            guard let decoded = Base64.decode(encoded, options: .protoJSON) else {
                throw DecodingError.dataCorruptedError(forKey: field, in: c, debugDescription: "\(field.rawValue) is not valid base64")
            }
            return decoded
        }
        let binding = try c.decodeIfPresent(Binding.self, forKey: .policyBinding)
        keyAccess = KeyAccess(
            keyType: try text(.type), kasURL: try text(.url), protocol: try text(.protocol), kid: try text(.kid),
            splitID: try text(.sid), wrappedKey: try bytes(.wrappedKey),
            policyBinding: binding.map { PolicyBinding(algorithm: $0.alg ?? "", hash: $0.hash ?? "") },
            ephemeralPublicKey: try text(.ephemeralPublicKey), encryptedMetadata: try text(.encryptedMetadata),
            header: try bytes(.header))
    }
}
