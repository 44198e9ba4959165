// `rewrap-examples`: runs the README's library examples on real files, so the tests can check
// that the code the README shows compiles and works.
//
//   rewrap-examples keyring KEYRING.yaml BODY.json
//   rewrap-examples registry KEYS.sqlite BODY.json        (root key hex in REWRAP_ROOT_KEY)
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 4, ["keyring", "registry"].contains(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: rewrap-examples keyring KEYRING BODY | registry DB BODY\n".utf8))
    exit(64)
}
do {
    let body = Array(try Data(contentsOf: URL(fileURLWithPath: arguments[3])))
    let response: [UInt8]
    if arguments[1] == "keyring" {
        let engine = try makeKeyringEngine(keyringFile: arguments[2])
        let (status, answer) = await handleRewrap(engine: engine, requestBody: body, accessToken: "example-subject")
        guard status == 200 else {
            FileHandle.standardError.write(Data("rewrap-examples: HTTP \(status)\n".utf8))
            FileHandle.standardOutput.write(Data(answer + [0x0A]))
            exit(1)
        }
        response = answer
    } else {
        let rootKey = ProcessInfo.processInfo.environment["REWRAP_ROOT_KEY"] ?? ""
        let (engine, providers) = try makeRegistryEngine(database: arguments[2], rootKeyHex: rootKey)
        do {
            response = try await engine.rewrap(json: body)
            await providers.shutdown()
        } catch {
            await providers.shutdown()
            throw error
        }
    }
    FileHandle.standardOutput.write(Data(response + [0x0A]))
} catch {
    FileHandle.standardError.write(Data("rewrap-examples: \(error)\n".utf8))
    exit(1)
}
