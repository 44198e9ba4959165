import Foundation
import Logging
import RewrapEngine
import RewrapEngineTestSupport
import RewrapKeyRing
import RewrapServer
import RewrapTestSupport
import Testing

/// One audit record per KAO that passed unwrap and binding (kas-server.md §6), with the Go KAS's
/// fields; none for KAOs that failed before; nothing secret in any log event.
@Suite struct AuditLogTests: RewrapExpectations {
    @Test func oneRecordPerVerifiedKAO() async throws {
        let events = LockedBox<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>([])
        var logger = Logger(label: "test") { _ in CapturingLogHandler(events: events) }
        logger.logLevel = .trace
        var configuration = ServerConfiguration()
        configuration.port = 0
        let server = try KASServer(configuration: configuration, engine: RewrapEngine(keys: TestKeySource.fixtures),
                                   publicKeys: KeyRingDirectory(keyRing: KeyRing(keys: TestKeySource.fixtures.keys)),
                                   authentication: nil, logger: logger)
        let task = Task { try await server.run() }
        defer { task.cancel() }
        let port = try await server.listeningPort()

        let (good, dek) = try makeKAO(.ecP256)
        var tampered = good
        tampered.wrappedKey[0] ^= 1
        let request = makeRequest(client: Self.rsaClientPEM, kaos: [good, tampered])
        let requestID = "6f1c2b9e-0d3a-4a4e-9a55-3b8c1d2e4f60"
        let answer = try await Client.send("http://127.0.0.1:\(port)/kas.AccessService/Rewrap",
                                           headers: [("Content-Type", "application/json"), ("X-Request-Id", requestID), ("User-Agent", "audit-test/1")],
                                           body: Wire.rewrapJSON(Wire.unsignedSRT(request)))
        #expect(answer.status == 200)
        let audits = events.withLock { $0 }.filter { $0.message == "rewrap" }
        try #require(audits.count == 1, "one verified KAO, one record (the tampered one fails before): \(audits.map(\.metadata))")
        guard case .dictionary(let record)? = audits[0].metadata["audit"] else { Issue.record("no audit metadata"); return }
        #expect(audits[0].level == .notice)
        #expect(record["requestID"] == .string(requestID))
        #expect(record["action"] == .dictionary(["type": "rewrap", "result": "success"]))
        guard case .dictionary(let meta)? = record["eventMetaData"], case .dictionary(let client)? = record["clientInfo"] else {
            Issue.record("missing eventMetaData/clientInfo")
            return
        }
        #expect(meta["keyID"] == .string("ec:secp256r1"))
        #expect(meta["policyBinding"] == .string(good.policyBinding?.hash ?? "?"))
        #expect(meta["algorithm"] == "rsa:2048")
        #expect(client["userAgent"] == "audit-test/1")
        #expect(client["requestIP"] == "127.0.0.1")
        // No log event carries the DEK, the token or a key.
        let everything = events.withLock { $0 }.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(!everything.contains(Wire.base64URL(dek)))
        #expect(!everything.contains("BEGIN"))
        #expect(!everything.contains("signedRequestToken"))
    }
}

struct CapturingLogHandler: LogHandler {
    let events: LockedBox<[(level: Logger.Level, message: String, metadata: Logger.Metadata)]>
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        events.withLock { $0.append((event.level, event.message.description, metadata.merging(event.metadata ?? [:]) { $1 })) }
    }
}
