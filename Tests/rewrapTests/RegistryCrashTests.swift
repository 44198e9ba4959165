import RewrapTestSupport
import Foundation
import RewrapRegistry
import RewrapRegistrySQLite
import RewrapRegistryTestSupport
import Testing

/// The SQLite store under `rewrap keys import-loop`, a writer process killed mid-stream.
@Suite struct RegistryCrashTests {
    /// A writer killed at an arbitrary moment loses nothing it had committed, and leaves a
    /// database that opens and passes SQLite's integrity check.
    @Test func killedWriterLosesNoCommittedKey() throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rewrap")
        try #require(FileManager.default.isExecutableFile(atPath: executable.path),
                     "the rewrap executable is built beside the tests (swift build --build-tests)")
        let registry = try TemporaryRegistry()
        let (record, _) = try registry.makeRecord("template", .ecP256)
        let publicPath = registry.directory.appendingPathComponent("pub.pem").path
        try record.publicKeyPEM.write(toFile: publicPath, atomically: true, encoding: .utf8)

        for round in 0..<3 {
            let writer = try RunningChild(
                executable: executable,
                arguments: ["keys", "import-loop", "--db", registry.path, "--count", "100000", "--prefix", "r\(round)-",
                            "--public-key", publicPath, "--wrapped-key", record.privateKeyContext!.wrappedKey],
                directory: registry.directory, environment: ProcessInfo.processInfo.environment)
            // Read committed kids (complete lines) until a round-specific number, then kill
            // without warning. A writer that stalls or stops is given up on after 120 s, so the
            // round fails instead of hanging the run.
            let target = [37, 211, 503][round]
            let deadline = ContinuousClock.now + .seconds(120)
            var committed: [String] = []
            while committed.count < target, ContinuousClock.now < deadline {
                let lines = writer.stdout.text.split(separator: "\n", omittingEmptySubsequences: false)
                committed = lines.dropLast().map(String.init)  // the last piece may be a partial line
                if committed.count < target {
                    if !writer.isRunning { break }
                    Thread.sleep(forTimeInterval: 0.001)
                }
            }
            writer.kill()
            _ = writer.waitForExit(within: .seconds(30))
            #expect(committed.count >= target, "round \(round): the writer stopped early")

            let reopened = try SQLiteKeyStore(path: registry.path)
            let stored = Set(try reopened.keys(.all).map(\.kid))
            let missing = committed.filter { !stored.contains($0) }
            #expect(missing.isEmpty, "round \(round): committed but lost: \(missing.prefix(5))")
        }
        let check = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), [
            "python3", "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])", registry.path,
        ])
        #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "integrity check: \(check.stderr)")
    }
}
