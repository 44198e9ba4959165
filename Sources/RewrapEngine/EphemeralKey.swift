import RewrapCrypto
import RewrapWire

/// Locates the EC point inside an `ec-wrapped` KAO's `ephemeralPublicKey` without OpenSSL's
/// SPKI decoder on the common path: the PEM body is base64-decoded into worker scratch and
/// the DER prefix is compared byte for byte with the known P-256/384/521 prefixes (4× faster
/// than `d2i_PUBKEY`, openssl-perf.md). Anything else goes through the full decoder, which
/// also produces the precise error. A bare base64 SEC1 point (compressed or not) is accepted
/// too, as the Go KAS passes compressed points to its key managers.
struct EphemeralKeyParser {
    private static let pemHeader = Array("-----BEGIN PUBLIC KEY-----".utf8)
    private static let pemFooter = Array("-----END PUBLIC KEY-----".utf8)
    private static let pemMarker = Array("-----BEGIN ".utf8)
    private static let prefixes: [(Curve, [UInt8], Int)] = Curve.allCases.flatMap { curve in
        [(curve, curve.uncompressedSPKIPrefix, curve.uncompressedPointByteCount),
         (curve, curve.compressedSPKIPrefix, curve.compressedPointByteCount)]
    }

    /// Parses `text`; on success the point is in `scratch[0..<count]`.
    static func parse(
        _ text: String, scratch: UnsafeMutableRawBufferPointer, maxBytes: Int
    ) -> Result<(curve: Curve, count: Int), KAOError> {
        var text = text
        return text.withUTF8 { utf8 -> Result<(curve: Curve, count: Int), KAOError> in
            let input = UnsafeRawBufferPointer(utf8)
            guard !input.isEmpty else { return .failure(.invalidEphemeralPublicKey) }
            guard input.count <= maxBytes else { return .failure(.ephemeralKeyTooLarge) }
            if startsWith(input, pemMarker) {
                return parsePEM(input, scratch: scratch)
            }
            guard let count = Base64.decode(input, into: scratch, options: .protoJSON),
                  let curve = curveForPointLength(count)
            else { return .failure(.invalidEphemeralPublicKey) }
            return .success((curve, count))
        }
    }

    private static func parsePEM(
        _ input: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer
    ) -> Result<(curve: Curve, count: Int), KAOError> {
        guard startsWith(input, pemHeader),
              let footer = find(pemFooter, in: input, from: pemHeader.count)
        else { return .failure(.invalidEphemeralPublicKeyPEM) }
        let body = UnsafeRawBufferPointer(rebasing: input[pemHeader.count..<footer])
        guard Base64.maxDecodedCount(body.count) <= scratch.count,
              let derCount = Base64.decode(body, into: scratch, options: .pem)
        else { return .failure(.invalidEphemeralPublicKeyPEM) }
        let der = UnsafeRawBufferPointer(rebasing: scratch[0..<derCount])
        for (curve, prefix, pointCount) in prefixes where derCount == prefix.count + pointCount && startsWith(der, prefix) {
            // Move the point to the front of scratch.
            scratch.baseAddress!.copyMemory(from: der.baseAddress! + prefix.count, byteCount: pointCount)
            return .success((curve, pointCount))
        }
        return parseWithDecoder(der, scratch: scratch)
    }

    /// The slow, general path: any SPKI OpenSSL understands, to say precisely what is wrong.
    private static func parseWithDecoder(
        _ der: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer
    ) -> Result<(curve: Curve, count: Int), KAOError> {
        let key: PublicKey
        do {
            key = try PublicKey(spkiDER: der)
        } catch .unsupportedAlgorithm(let what) {
            return .failure(what.hasPrefix("EC") ? .unsupportedECKeySize : .ephemeralKeyNotEC)
        } catch {
            return .failure(.invalidEphemeralPublicKey)
        }
        guard case .ec(let curve) = key.algorithm else { return .failure(.ephemeralKeyNotEC) }
        guard let point = try? key.ecPoint(), point.count <= scratch.count else {
            return .failure(.invalidECPublicKey)
        }
        point.withUnsafeBytes { scratch.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return .success((curve, point.count))
    }

    private static func curveForPointLength(_ count: Int) -> Curve? {
        Curve.allCases.first { $0.compressedPointByteCount == count || $0.uncompressedPointByteCount == count }
    }

    private static func startsWith(_ bytes: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        guard bytes.count >= prefix.count else { return false }
        for index in 0..<prefix.count where bytes[index] != prefix[index] { return false }
        return true
    }

    private static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0],
               startsWith(UnsafeRawBufferPointer(rebasing: haystack[index...]), needle) { return index }
            index += 1
        }
        return nil
    }
}
