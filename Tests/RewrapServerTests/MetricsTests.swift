import Foundation
import RewrapClient
import RewrapEngineTestSupport
import RewrapServer
import RewrapTestSupport
import Testing

/// `/metrics` in Prometheus text: RPC latency by procedure and code, KAO outcomes, gauges.
@Suite struct MetricsTests: RewrapExpectations {
    @Test func rpcAndKAOMetricsAreExposed() async throws {
        try await RunningServer.with { server in
            let (good, _) = try makeKAO(.rsa2048)
            var bad = good
            bad.wrappedKey[0] ^= 1
            let request = makeRequest(client: Self.rsaClientPEM, kaos: [good, bad])
            let answer = try await Client.send("\(server.base)/kas.AccessService/Rewrap", headers: [("Content-Type", "application/json")],
                                               body: Wire.rewrapJSON(Wire.unsignedSRT(request)))
            #expect(answer.status == 200)
            _ = try await Client.send("\(server.base)/kas.AccessService/PublicKey", headers: [("Content-Type", "application/json")],
                                      body: Array(#"{"algorithm":"nope"}"#.utf8))
            let scrape = try await Client.send("\(server.base)/metrics", method: .GET)
            #expect(scrape.status == 200)
            #expect(scrape.headers.first(name: "content-type")?.hasPrefix("text/plain") == true)
            let text = scrape.text
            #expect(text.contains(#"rpc_server_duration_count{rpc_system="connect_rpc",rpc_service="kas.AccessService",rpc_method="Rewrap",rpc_connect_rpc_error_code="ok"} 1"#), "\(text)")
            #expect(text.contains(#"rpc_method="PublicKey",rpc_connect_rpc_error_code="not_found"} 1"#))
            #expect(text.contains(#"rewrap_kao_total{type="wrapped",status="permit"} 1"#))
            #expect(text.contains(#"rewrap_kao_total{type="wrapped",status="fail"} 1"#))
            #expect(text.contains("rewrap_requests_in_flight 0"))
            #expect(text.contains("rewrap_connections_open"))
            // Nothing secret: no key, no token, no DEK material in the exposition.
            #expect(!text.contains("BEGIN"))
        }
    }

    /// KAO ids repeat across policies (kao-0 in each): every KAO is counted under its own type.
    @Test func kaoTypesAreCountedPerPolicy() async throws {
        try await RunningServer.with { server in
            let (rsa, _) = try makeKAO(.rsa2048)
            let (ec, _) = try makeKAO(.ecP256)
            let request = RewrapRequestBuilder.request(clientPublicKeyPEM: Self.rsaClientPEM, policies: [
                (id: "one", body: Fixtures.vectors.policy, kaos: [rsa]), (id: "two", body: Fixtures.vectors.policy, kaos: [ec]),
            ])
            let answer = try await Client.send("\(server.base)/kas.AccessService/Rewrap", headers: [("Content-Type", "application/json")],
                                               body: Wire.rewrapJSON(Wire.unsignedSRT(request)))
            #expect(answer.status == 200, "\(answer.text)")
            let text = try await Client.send("\(server.base)/metrics", method: .GET).text
            #expect(text.contains(#"rewrap_kao_total{type="wrapped",status="permit"} 1"#), "\(text)")
            #expect(text.contains(#"rewrap_kao_total{type="ec-wrapped",status="permit"} 1"#), "\(text)")
        }
    }
}
