import RewrapTestSupport
import Foundation
import Testing

/// The README's Swift examples: every ```swift block in the README is the marked region of a
/// file under `Examples/` (which every build compiles), and `rewrap-examples` runs them on keys
/// and requests made by the `rewrap` executable.
@Suite(.serialized) struct ExamplesTests {
    static let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()   // Tests/rewrapTests/…

    /// The README's Swift code blocks, in order.
    static func readmeSwiftBlocks() throws -> [String] {
        let readme = try String(contentsOf: repository.appendingPathComponent("README.md"), encoding: .utf8)
        var blocks: [String] = []
        var current: [Substring]?
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```swift" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }

    /// The regions between `// README: NAME begin` and `// README: NAME end` in Examples/.
    static func exampleRegions() throws -> [String: String] {
        let folder = repository.appendingPathComponent("Examples/LibraryUsage")
        var regions: [String: String] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            var name: String?
            var lines: [Substring] = []
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("// README: "), line.hasSuffix(" begin") {
                    name = String(line.dropFirst("// README: ".count).dropLast(" begin".count))
                    lines = []
                } else if let open = name, line == "// README: \(open) end" {
                    regions[open] = lines.joined(separator: "\n")
                    name = nil
                } else if name != nil {
                    lines.append(line)
                }
            }
        }
        return regions
    }

    @Test func everyReadmeSwiftBlockIsCompiledExampleCode() throws {
        let blocks = try Self.readmeSwiftBlocks()
        let regions = try Self.exampleRegions()
        #expect(blocks.count >= 2, "the README shows the keyring and the registry examples")
        #expect(regions.count >= 2)
        for block in blocks {
            // A block is the imports it needs, then one region verbatim.
            let code = block.split(separator: "\n", omittingEmptySubsequences: false)
                .drop { $0.hasPrefix("import ") || $0.isEmpty }.joined(separator: "\n")
            #expect(regions.values.contains(code), "README block not found verbatim in Examples/LibraryUsage:\n\(block)")
        }
    }

    /// Runs a built executable from the folder, with `environment` added to this process's.
    static func run(_ name: String, _ arguments: [String], in directory: URL, environment: [String: String]) throws -> ChildProcess.Run {
        try ChildProcess.run(binaries.appendingPathComponent(name), arguments,
                             environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, in: directory, timeout: .seconds(60))
    }

    final class Folder {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rewrap-examples-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    }

    /// Every KAO of a `rewrap-examples` response is `permit`.
    static func expectPermits(_ run: ChildProcess.Run, count: Int) throws {
        #expect(run.status == 0, "rewrap-examples failed: \(run.stderr)")
        let response = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let results = (response?["responses"] as? [[String: Any]])?.flatMap { ($0["results"] as? [[String: Any]]) ?? [] } ?? []
        #expect(results.count == count)
        #expect(results.allSatisfy { $0["status"] as? String == "permit" }, "\(run.stdout)")
    }

    @Test func keyringExampleRewraps() throws {
        let folder = try Folder()
        let env: [String: String] = [:]
        for (alg, kid, out) in [("ec:secp256r1", "e1", "keys"), ("ec:secp256r1", "me", "client")] {
            let made = try Self.run("rewrap", ["keys", "generate", "--alg", alg, "--kid", kid, "--out", out], in: folder.url, environment: env)
            #expect(made.status == 0, "\(made.stderr)")
        }
        let body = try Self.run("rewrap", ["make-request", "--kas-public", "keys/e1-public.pem", "--kid", "e1",
                                           "--client-public", "client/me-public.pem", "--count", "3"], in: folder.url, environment: env)
        #expect(body.status == 0, "\(body.stderr)")
        try body.stdout.write(toFile: folder.path("body.json"), atomically: true, encoding: .utf8)
        let run = try Self.run("rewrap-examples", ["keyring", "keys/keyring.yaml", "body.json"], in: folder.url, environment: env)
        try Self.expectPermits(run, count: 3)
    }

    @Test func registryExampleRewraps() throws {
        let folder = try Folder()
        let env = ["REWRAP_ROOT_KEY": String(repeating: "5a", count: 32), "REWRAP_DB": folder.path("keys.sqlite")]
        let created = try Self.run("rewrap", ["keys", "create", "--kid", "r1", "--alg", "rsa:2048"], in: folder.url, environment: env)
        #expect(created.status == 0, "\(created.stderr)")
        let published = try Self.run("rewrap", ["keys", "public-key", "--alg", "rsa:2048", "--json"], in: folder.url, environment: env)
        let publicKey = try JSONSerialization.jsonObject(with: Data(published.stdout.utf8)) as? [String: Any]
        try #require(publicKey?["publicKey"] as? String).write(toFile: folder.path("r1.pem"), atomically: true, encoding: .utf8)
        let client = try Self.run("rewrap", ["keys", "generate", "--alg", "rsa:2048", "--kid", "me", "--out", "client"],
                                  in: folder.url, environment: env)
        #expect(client.status == 0, "\(client.stderr)")
        let body = try Self.run("rewrap", ["make-request", "--kas-public", "r1.pem", "--kid", "r1",
                                           "--client-public", "client/me-public.pem", "--count", "2"], in: folder.url, environment: env)
        try body.stdout.write(toFile: folder.path("body.json"), atomically: true, encoding: .utf8)
        let run = try Self.run("rewrap-examples", ["registry", "keys.sqlite", "body.json"], in: folder.url, environment: env)
        try Self.expectPermits(run, count: 2)
    }
}
