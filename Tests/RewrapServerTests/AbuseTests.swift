import Foundation
import NIOCore
import NIOPosix
import RewrapCrypto
import RewrapEngine
import RewrapEngineTestSupport
import RewrapServer
import RewrapTestSupport
import Testing

/// Clients that misbehave, and load beyond the bounds: the server answers what it can, cuts
/// off what it must, and keeps serving everyone else.
@Suite struct AbuseTests: RewrapExpectations {
    /// A KAO whose key answers after `delay` (a slow KMS): how tests hold a request in flight.
    static func slowKeys(delay: Duration) -> (any KeySource, FakeRemoteKey) {
        let remote = FakeRemoteKey(kid: "slow", key: Fixtures.privateKey(Fixtures.kasKeyName(.rsa2048)), delay: delay)
        return (SlowKeySource(remote: remote), remote)
    }

    static func slowRequest() throws -> [UInt8] {
        let kas = Self.kasKey(Fixtures.privateKey(Fixtures.kasKeyName(.rsa2048)), kid: "slow")
        let (kao, _) = try Self.kao(to: kas)
        return Wire.rewrapJSON(Wire.unsignedSRT(makeRequest(client: Self.rsaClientPEM, kaos: [kao])))
    }

    @Test func aDeadlineEndsTheWorkWithDeadlineExceeded() async throws {
        // The key answers after 10 s; the 200 ms deadline answers long before (no timing is
        // asserted beyond "did not wait for the work": machines here are shared and noisy).
        let (keys, _) = Self.slowKeys(delay: .seconds(10))
        try await RunningServer.with(keys: keys) { server in
            let started = ContinuousClock.now
            let answer = try await Client.send("\(server.base)/kas.AccessService/Rewrap",
                                               headers: [("Content-Type", "application/json"), ("Connect-Timeout-Ms", "200")],
                                               body: try Self.slowRequest())
            #expect(answer.status == 504)
            #expect(answer.text.hasPrefix(#"{"code":"deadline_exceeded""#))
            #expect(ContinuousClock.now - started < .seconds(8))
        }
    }

    /// One request slot: while the first Rewrap holds it (its key answers after 3 s), a second
    /// is refused without waiting for it, PublicKey still works, and the slot is free again after.
    @Test func backPressureRefusesQuicklyBeyondTheBound() async throws {
        let (keys, remote) = Self.slowKeys(delay: .seconds(3))
        try await RunningServer.with(keys: keys, configure: { $0.limits.maxRequestsInFlight = 1 }) { server in
            let url = "\(server.base)/kas.AccessService/Rewrap"
            let body = try Self.slowRequest()
            let firstDone = LockedBox(false)
            async let first = { () async throws -> Client.Answer in
                let answer = try await Client.send(url, headers: [("Content-Type", "application/json")], body: body)
                firstDone.withLock { $0 = true }
                return answer
            }()
            // The first request is at its key: it holds the slot.
            try await waitUntil(timeout: .seconds(20)) { remote.calls > 0 }
            let second = try await Client.send(url, headers: [("Content-Type", "application/json")], body: body)
            #expect(second.status == 429)
            #expect(second.text.contains("resource_exhausted"))
            #expect(!firstDone.withLock { $0 }, "the refusal did not wait for the slot")
            let key = try await Client.send("\(server.base)/kas.AccessService/PublicKey", headers: [("Content-Type", "application/json")],
                                            body: Array("{}".utf8))
            #expect(key.status == 200)
            #expect(try await first.status == 200)
            let third = try await Client.send(url, headers: [("Content-Type", "application/json")], body: body)
            #expect(third.status == 200)
        }
    }

    /// Headers trickled one byte at a time: the connection is cut at the read-header timeout,
    /// and other clients are served meanwhile.
    @Test func slowClientIsCutOff() async throws {
        try await RunningServer.with(configure: { $0.timeouts.readHeader = .milliseconds(600) }) { server in
            let socket = try RawSocket(port: server.port)
            let started = ContinuousClock.now
            var closed = false
            for byte in Array("POST /kas.AccessService/PublicKey HTTP/1.1\r\nHost: x\r\n".utf8) {
                guard socket.send([byte]) else { closed = true; break }
                #expect(try await Client.send("\(server.base)/healthz", method: .GET).status == 200)
                try await Task.sleep(for: .milliseconds(100))
                if socket.isClosedByPeer() { closed = true; break }
            }
            #expect(closed)
            _ = started
        }
    }

    /// 1,000 idle connections hold no request; a real client still gets its answer, and the idle
    /// ones are closed at the idle timeout.
    @Test func manyIdleConnectionsDoNotStarveOthers() async throws {
        // Both ends of 1,000 connections live in this process.
        raiseOpenFileLimit(to: 4096)
        try await RunningServer.with(configure: { $0.timeouts.readHeader = .seconds(2) }) { server in
            var sockets: [RawSocket] = []
            for _ in 0..<1000 { sockets.append(try RawSocket(port: server.port)) }
            let answer = try await Client.send("\(server.base)/kas.AccessService/PublicKey", headers: [("Content-Type", "application/json")],
                                               body: Array("{}".utf8))
            #expect(answer.status == 200)
            // Closed at the 2 s timeout (waited for up to 20 s on a busy machine).
            try await waitUntil(timeout: .seconds(20)) { sockets.allSatisfy { $0.isClosedByPeer() } }
        }
    }

    /// Not HTTP at all, a bad request line, a header without a colon: 400 and close, no crash.
    @Test func malformedHTTPIsRefused() async throws {
        try await RunningServer.with { server in
            for garbage in ["\u{01}\u{02}\u{03}garbage\r\n\r\n", "GET / HTTP/9.9 extra\r\n\r\n", "GET / HTTP/1.1\r\nNoColonHere\r\n\r\n"] {
                let socket = try RawSocket(port: server.port)
                _ = socket.send(Array(garbage.utf8))
                let reply = socket.receive(timeout: .seconds(5))
                #expect(reply.hasPrefix("HTTP/1.1 400"))
            }
            #expect(try await Client.send("\(server.base)/healthz", method: .GET).status == 200)
        }
    }
}

/// The fixture keys, plus kid `slow` behind a delayed remote key.
struct SlowKeySource: KeySource {
    let remote: FakeRemoteKey
    func resolve(kid: String) -> KeyResolution? {
        kid == "slow" ? .remote(remote) : TestKeySource.fixtures.resolve(kid: kid)
    }
    func legacyKeys() -> [KASKey] { TestKeySource.fixtures.legacyKeys() }
}

/// A blocking TCP client socket for byte-level abuse.
final class RawSocket: @unchecked Sendable {
    // @unchecked: one test uses one socket from one task.
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Whether the server closed its end (a read returns EOF or an error right away).
    func isClosedByPeer() -> Bool {
        var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pollfd, 1, 0) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK)) <= 0
    }

    /// One HTTP/1.1 response: its head (up to the blank line) and a body of its Content-Length.
    func receiveResponse(timeout: Duration) -> (head: String, body: [UInt8]) {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        let separator = Array("\r\n\r\n".utf8)
        while ContinuousClock.now < deadline {
            if let end = (0..<max(0, received.count - 3)).first(where: { Array(received[$0..<$0 + 4]) == separator }) {
                let head = String(decoding: received[..<end], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if received.count >= end + 4 + length { return (head, Array(received[(end + 4)..<(end + 4 + length)])) }
            }
            var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pollfd, 1, 100) > 0 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return (String(decoding: received, as: UTF8.self), [])
    }

    enum End: Equatable { case endOfStream, reset, data, stillOpen }

    /// How the stream goes on: a clean FIN, a reset (or another receive error), more bytes,
    /// or nothing within `timeout`.
    func receiveEnd(timeout: Duration) -> End {
        var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pollfd, 1, Int32(timeout.components.seconds * 1000)) > 0 else { return .stillOpen }
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, 0)
        if count > 0 { return .data }
        return count == 0 ? .endOfStream : .reset
    }

    /// What arrives until the peer closes or `timeout` passes.
    func receive(timeout: Duration) -> String {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pollfd, 1, 100) > 0 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }
}

/// Raises the soft limit on open files toward `wanted` (never past the hard limit).
func raiseOpenFileLimit(to wanted: UInt) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(wanted) else { return }
    limit.rlim_cur = min(rlim_t(wanted), limit.rlim_max)
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
