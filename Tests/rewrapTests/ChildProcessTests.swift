import RewrapTestSupport
import Foundation
import Testing

/// The runner the CLI tests use: no pipe deadlock, no hung child.
@Suite struct ChildProcessTests {
    static let shell = URL(fileURLWithPath: "/bin/sh")

    /// A child that fills stderr (well past the 64 KiB pipe buffer) before it writes stdout: a
    /// reader that drains stdout first would wait forever for a child blocked on stderr.
    @Test func bothPipesAreDrainedTogether() throws {
        let run = try ChildProcess.run(Self.shell, ["-c", "head -c 1000000 /dev/zero >&2; cat; echo done"],
                                       stdin: "from stdin\n", timeout: .seconds(60))
        #expect(run.status == 0)
        #expect(run.stderr.utf8.count == 1_000_000)
        #expect(run.stdout == "from stdin\ndone\n")
    }

    /// A child that never exits is killed at the timeout, and the error keeps its output.
    @Test func aHungChildIsKilledAtTheTimeout() throws {
        let started = ContinuousClock.now
        do {
            _ = try ChildProcess.run(Self.shell, ["-c", "echo before; exec sleep 600"], timeout: .seconds(1))
            Issue.record("the sleeping child was not stopped")
        } catch let error as ChildProcess.TimedOut {
            #expect(error.stdout == "before\n")
            #expect(error.description.contains("did not finish within"))
        }
        #expect(ContinuousClock.now - started < .seconds(60))
    }
}
