import Foundation
import NIOCore
import NIOPosix
import RewrapTestSupport
import ServiceLifecycleTestKit
import Testing

/// Graceful shutdown over HTTP/1.1 keep-alive, byte by byte: a busy connection's answer says
/// `Connection: close` (so the client sends nothing more on it), an idle one is ended with a FIN
/// and whatever the client still sends is read and dropped — never a reset, which a client
/// cannot tell from a failed request (`rewrap serve`'s SIGTERM test once saw "connection reset
/// by peer" on a request sent into a connection NIO had just closed).
@Suite struct ShutdownTests {
    @Test func keepAliveConnectionsEndWithoutAReset() async throws {
        // Long enough that the shutdown reaches the connection while its answer is pending, even on a
        // loaded machine (1 s was not, once, with the whole suite running in parallel).
        let (keys, remote) = AbuseTests.slowKeys(delay: .seconds(4))
        let rewrap = try AbuseTests.slowRequest()
        try await testGracefulShutdown { trigger in
            let server = try await RunningServer.start(keys: keys)
            let idle = try RawSocket(port: server.port)
            let publicKey = Array("POST /kas.AccessService/PublicKey HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".utf8)
            #expect(idle.send(publicKey))
            let first = idle.receiveResponse(timeout: .seconds(10))
            #expect(first.head.hasPrefix("HTTP/1.1 200"))
            #expect(!first.head.lowercased().contains("connection: close"), "keep-alive before shutdown")

            let busy = try RawSocket(port: server.port)
            let head = "POST /kas.AccessService/Rewrap HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(rewrap.count)\r\n\r\n"
            #expect(busy.send(Array(head.utf8) + rewrap))
            try await waitUntil(timeout: .seconds(20)) { remote.calls > 0 }

            trigger.triggerGracefulShutdown()
            // The idle connection: a clean end of stream, then a request sent into it is
            // dropped without a reset.
            #expect(idle.receiveEnd(timeout: .seconds(10)) == .endOfStream)
            _ = idle.send(publicKey)
            // A reset for it would come back within this on loopback (and recv would report it).
            try await Task.sleep(for: .milliseconds(300))
            #expect(idle.receiveEnd(timeout: .seconds(10)) == .endOfStream)

            // The busy connection: its answer, marked as the last, then the end.
            let answer = busy.receiveResponse(timeout: .seconds(20))
            #expect(answer.head.hasPrefix("HTTP/1.1 200"), "\(answer.head)")
            #expect(answer.head.lowercased().contains("connection: close"), "\(answer.head)")
            #expect(busy.receiveEnd(timeout: .seconds(10)) == .endOfStream)
            await server.finished()
        }
    }

    /// Connections the kernel completed but the server had not accepted yet when shutdown came
    /// (its event loops busy): closing the listener would reset them, so they are accepted first
    /// and their requests answered.
    @Test func connectionsWaitingToBeAcceptedAreServedNotReset() async throws {
        let request = Array("POST /kas.AccessService/PublicKey HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".utf8)
        try await testGracefulShutdown { trigger in
            let server = try await RunningServer.start()
            // Hold every event loop so that new connections wait in the accept queue.
            let held = MultiThreadedEventLoopGroup.singleton.makeIterator().map { loop in
                loop.submit { usleep(500_000) }
            }
            try await Task.sleep(for: .milliseconds(50))
            var sockets: [RawSocket] = []
            for _ in 0..<6 {
                let socket = try RawSocket(port: server.port)
                #expect(socket.send(request))
                sockets.append(socket)
            }
            trigger.triggerGracefulShutdown()
            for loop in held { _ = try await loop.get() }
            for socket in sockets {
                let answer = socket.receiveResponse(timeout: .seconds(10))
                #expect(answer.head.hasPrefix("HTTP/1.1 200"), "answered, not reset: \(answer.head) \(socket.receiveEnd(timeout: .seconds(1))) at \(ContinuousClock.now)")
            }
            await server.finished()
        }
    }
}
