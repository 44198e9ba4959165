import NIOHTTP1
@testable import RewrapServer
import Testing

/// The request path's header reads (`HeaderFields.swift`).
@Suite struct HeaderFieldsTests {
    /// What `RequestProcessor` reads `Authorization` and `DPoP` with: NIO's subscript, whole
    /// lines in order, not split at commas (Go's `Header.Values`).
    @Test func linesAreWholeAndInOrder() {
        let headers = HTTPHeaders([("DPoP", "a.b.c"), ("authorization", "Bearer x, y"), ("dpop", "d.e.f")])
        #expect(headers["dpop"] == ["a.b.c", "d.e.f"])
        #expect(headers["Authorization"] == ["Bearer x, y"])
        #expect(headers["x-missing"].isEmpty)
    }

    @Test func listMembershipIsCaseInsensitiveAndTrimmed() {
        #expect(HTTPHeaders([("Accept-Encoding", "br, GZip\t")]).list(named: "accept-encoding", contains: "gzip") == true)
        #expect(HTTPHeaders([("accept-encoding", "identity"), ("Accept-Encoding", " gzip")]).list(named: "accept-encoding", contains: "gzip") == true)
        #expect(HTTPHeaders([("Accept-Encoding", "gzipx, x-gzip")]).list(named: "accept-encoding", contains: "gzip") == false)
        #expect(HTTPHeaders([("Accept-Encoding", " , ")]).list(named: "accept-encoding", contains: "gzip") == nil)
        #expect(HTTPHeaders().list(named: "accept-encoding", contains: "gzip") == nil)
    }

    @Test func requestIDsAreUUIDs() {
        #expect(RequestID.make(from: "0F8FAD5B-D9CB-469F-A165-70867728950E") == "0f8fad5b-d9cb-469f-a165-70867728950e")
        let fresh = RequestID.make(from: "not-a-uuid")
        #expect(fresh.count == 36 && fresh != RequestID.make(from: nil))
        // A version-4 UUID in canonical lower-case form: it parses back to itself.
        #expect(RequestID.canonical(fresh) == fresh)
        let version = fresh.utf8[fresh.utf8.index(fresh.utf8.startIndex, offsetBy: 14)]
        #expect(version == UInt8(ascii: "4"))
        #expect(RequestID.canonical("0f8fad5b-d9cb-469f-a165-70867728950") == nil)
        #expect(RequestID.canonical("0f8fad5bxd9cb-469f-a165-70867728950e") == nil)
        #expect(RequestID.canonical("0f8fad5b-d9cb-469f-a165-70867728950g") == nil)
    }
}
