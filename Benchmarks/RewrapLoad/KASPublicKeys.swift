import AsyncHTTPClient
import Foundation
import NIOCore
import RewrapClient
import RewrapCrypto

/// The KAS keys requests are wrapped to, as an SDK learns them: the target's PublicKey RPC
/// (kas-server.md §5; Connect JSON, v2 answers with the kid), one per algorithm.
package enum KASPublicKeys {
    package static func fetch(target: LoadTarget, algorithm: KeyAlgorithm, http: HTTPClient) async throws -> TDFWriter.KASPublicKey {
        let url = target.url(KASProcedure.publicKey)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Connect-Protocol-Version", value: "1")
        request.body = .bytes(ByteBuffer(string: #"{"algorithm":"\#(algorithm)","v":"2"}"#))
        let (response, body) = try await http.fetch(request, timeout: .seconds(15), what: "PublicKey for \(algorithm) at \(url)")
        struct Answer: Decodable { var publicKey: String; var kid: String? }
        guard response.status == .ok, let answer = try? JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView)) else {
            throw LoadError("PublicKey for \(algorithm) at \(url) answered \(response.status.code): \(String(buffer: body).prefix(300))")
        }
        guard let kid = answer.kid, !kid.isEmpty else { throw LoadError("PublicKey for \(algorithm) at \(url) named no kid") }
        let key: PublicKey
        do { key = try PublicKey(pem: answer.publicKey) } catch {
            throw LoadError("PublicKey for \(algorithm) at \(url): the key does not parse (\(error))")
        }
        guard key.algorithm == algorithm else {
            throw LoadError("PublicKey for \(algorithm) at \(url) answered a \(key.algorithm) key")
        }
        return TDFWriter.KASPublicKey(kid: kid, key: key, url: target.description)
    }

    /// A key from a PEM file (SPKI or certificate), for a KAS whose PublicKey RPC is not used.
    package static func load(kid: String, file: String) throws -> TDFWriter.KASPublicKey {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8), text.utf8.count < 1 << 20 else {
            throw LoadError("cannot read \(file) (a PEM public key under 1 MiB)")
        }
        do { return TDFWriter.KASPublicKey(kid: kid, key: try PublicKey(pem: text)) } catch {
            throw LoadError("\(file) is not a PEM public key: \(error)")
        }
    }
}
