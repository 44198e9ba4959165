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
            let process = Process()
            process.executableURL = executable
            process.arguments = ["keys", "import-loop", "--db", registry.path, "--count", "100000", "--prefix", "r\(round)-",
                                 "--public-key", publicPath, "--wrapped-key", record.privateKeyContext!.wrappedKey]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            // A writer that stalls is killed by the watchdog, so the loop below ends (and the
            // round fails) instead of hanging the run.
            let pid = process.processIdentifier
            let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
            DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
            // Read committed kids until a round-specific number, then kill without warning.
            let target = [37, 211, 503][round]
            var committed: [String] = []
            var buffer = Data()
            while committed.count < target {
                let chunk = pipe.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 0x0A) {
                    committed.append(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
            }
            watchdog.cancel()
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
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
