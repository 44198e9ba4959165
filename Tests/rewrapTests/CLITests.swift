import RewrapTestSupport
import Foundation
import Testing

/// The `rewrap` executable end to end: registry administration, keyring generation, and
/// one-shot rewraps, including its error messages and exit codes.
@Suite(.serialized) struct CLITests {
    static let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rewrap")

    typealias Run = ChildProcess.Run

    final class Sandbox {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewrap-cli-\(UUID().uuidString)")
        let rootKey = String(repeating: "3c", count: 32)

        init() throws { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: directory) }

        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

        @discardableResult
        func run(_ arguments: [String], stdin: String? = nil, rootKey: Bool = true) throws -> Run {
            var environment = ProcessInfo.processInfo.environment
            environment["REWRAP_DB"] = path("keys.sqlite")
            environment["REWRAP_ROOT_KEY"] = rootKey ? self.rootKey : nil
            return try ChildProcess.run(CLITests.executable, arguments, stdin: stdin, environment: environment, in: directory)
        }
    }

    @Test func registryAdministration() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "rewrap is built beside the tests")
        let box = try Sandbox()
        #expect(try box.run(["keys", "create", "--kid", "r1", "--alg", "rsa:2048", "--legacy"]).status == 0)
        #expect(try box.run(["keys", "create", "--kid", "e1", "--alg", "ec:secp256r1"]).status == 0)
        #expect(try box.run(["keys", "map", "--kid", "e1", "--value", "https://example.com/attr/a/value/b"]).status == 0)
        #expect(try box.run(["keys", "set-base", "--kid", "e1"]).status == 0)

        let list = try box.run(["keys", "list", "--json"])
        #expect(list.status == 0)
        let keys = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
        #expect(keys?.compactMap { $0["kid"] as? String } == ["r1", "e1"])
        #expect(!list.stdout.contains("PRIVATE KEY"), "no private material in output")

        let rotate = try box.run(["keys", "rotate", "--kid", "e1", "--new-kid", "e2", "--json"])
        #expect(rotate.status == 0)
        let rotation = try JSONSerialization.jsonObject(with: Data(rotate.stdout.utf8)) as? [String: Any]
        #expect(rotation?["baseKeyMoved"] as? Bool == true)
        #expect((rotation?["movedMappings"] as? [Any])?.count == 1)
        #expect(try box.run(["keys", "get-base", "--json"]).stdout.contains("\"kid\" : \"e2\""))
        #expect(try box.run(["keys", "public-key", "--alg", "ec:secp256r1"]).stdout.hasPrefix("kid: e2"))
        #expect(try box.run(["keys", "list", "--status", "rotated"]).stdout.contains("e1"))
        #expect(try box.run(["keys", "mappings", "--kid", "e2"]).stdout.contains("https://example.com/attr/a/value/b"))
        let mode = try FileManager.default.attributesOfItem(atPath: box.path("keys.sqlite"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func misuseIsExplained() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "rewrap is built beside the tests")
        let box = try Sandbox()
        let cases: [([String], Bool, Int32, String)] = [
            (["keys", "create", "--kid", "x", "--alg", "rsa:1024"], true, 64, "The value 'rsa:1024' is invalid for '--alg <alg>'"),
            (["keys", "create", "--kid", "x", "--alg", "rsa:2048"], false, 1, "no root key"),
            (["keys", "create", "--kid", "e", "--alg", "ec:secp384r1", "--legacy"], true, 64, "rsa:2048 keys only"),
            (["keys", "get", "--kid", "missing"], true, 1, "no key with kid missing"),
            (["keys", "rotate", "--kid", "missing", "--new-kid", "n"], true, 1, "no key with kid missing"),
            (["keys", "map", "--kid", "x", "--value", "v", "--namespace", "n"], true, 64, "exactly one of"),
            (["keys", "import", "--kid", "x", "--mode", "sideways"], true, 64, "unknown --mode"),
            (["keys", "import", "--kid", "x", "--mode", "remote", "--remote-key-id", "arn", "--public", "nope.pem"], true, 1, "cannot read --public nope.pem: no such file"),
            (["request"], true, 64, "exactly one of --keyring and --db"),
        ]
        for (arguments, rootKey, status, message) in cases {
            let run = try box.run(arguments, rootKey: rootKey)
            #expect(run.status == status, "\(arguments.joined(separator: " ")): \(run.stderr)")
            #expect(run.stderr.contains(message), "\(arguments.joined(separator: " ")): \(run.stderr)")
        }
        #expect(try box.run(["keys", "create", "--kid", "dup", "--alg", "ec:secp256r1"]).status == 0)
        let duplicate = try box.run(["keys", "create", "--kid", "dup", "--alg", "ec:secp256r1"])
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr.contains("already exists"))
    }

    /// Keyring generation, a request built by `make-request`, rewrapped by `request`.
    @Test func keyringRequestRoundTrip() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "rewrap is built beside the tests")
        let box = try Sandbox()
        #expect(try box.run(["keys", "generate", "--alg", "ec:secp256r1", "--kid", "e1", "--out", "kas"]).status == 0)
        #expect(try box.run(["keys", "generate", "--alg", "rsa:2048", "--kid", "client", "--out", "client",
                             "--keyring", "client/unused.yaml"]).status == 0)
        let privateMode = try FileManager.default.attributesOfItem(atPath: box.path("kas/e1-private.pem"))[.posixPermissions] as? Int
        #expect(privateMode == 0o600)
        let body = try box.run(["make-request", "--kas-public", "kas/e1-public.pem", "--kid", "e1",
                                "--client-public", "client/client-public.pem", "--count", "3"])
        #expect(body.status == 0)
        let response = try box.run(["request", "--keyring", "kas/keyring.yaml"], stdin: body.stdout)
        #expect(response.status == 0, "\(response.stderr)")
        #expect(response.stdout.components(separatedBy: "\"status\":\"permit\"").count == 4)
        let bad = try box.run(["request", "--keyring", "kas/keyring.yaml"], stdin: "{not json")
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("\"code\":\"invalid_argument\""))
        #expect(try box.run(["request", "--keyring", "missing.yaml"], stdin: "{}").status == 78)
    }
}
