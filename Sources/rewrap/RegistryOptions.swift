import ArgumentParser
import Foundation
import RewrapRegistry
import RewrapRegistrySQLite

/// Options every registry command shares.
struct RegistryOptions: ParsableArguments {
    @Option(help: "Key registry database (default: $REWRAP_DB, else ./rewrap-keys.sqlite). Created on first use, mode 0600.")
    var db: String?

    @Option(help: "File holding the root key as 64 hex characters (default: the REWRAP_ROOT_KEY environment variable).")
    var rootKeyFile: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    var databasePath: String {
        db ?? ProcessInfo.processInfo.environment["REWRAP_DB"] ?? "rewrap-keys.sqlite"
    }

    func openStore() throws -> SQLiteKeyStore {
        do {
            return try SQLiteKeyStore(path: databasePath)
        } catch {
            throw CLIError("\(error)")
        }
    }

    /// Runs `body` on the opened store; errors reported as `reportingErrors` reports them.
    func withStore(_ body: (SQLiteKeyStore) throws -> Void) throws {
        try reportingErrors { try body(openStore()) }
    }

    /// The root key, never taken from the command line (it would show in `ps`).
    func rootKey(required: Bool) throws -> RootKey? {
        var text: String?
        if let rootKeyFile {
            do {
                text = try String(contentsOfFile: rootKeyFile, encoding: .utf8)
            } catch {
                throw CLIError("cannot read --root-key-file \(rootKeyFile): \((error as NSError).localizedDescription)")
            }
        } else {
            text = ProcessInfo.processInfo.environment["REWRAP_ROOT_KEY"]
        }
        guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            if required {
                throw CLIError("no root key: set REWRAP_ROOT_KEY to 64 hex characters or pass --root-key-file")
            }
            return nil
        }
        do {
            return try RootKey(hex: text)
        } catch {
            throw CLIError("the root key is unusable: \(error)")
        }
    }
}

/// A usage or data error with a clear message; exits 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

/// Exits 1 with the message for registry and CLI errors; lets ArgumentParser handle the rest.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("rewrap: \(error.description)\n".utf8))
        throw ExitCode(1)
    } catch let error as RegistryError {
        FileHandle.standardError.write(Data("rewrap: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// A text file named by an option, with a message that names the option when it cannot be read.
func readTextFile(_ path: String, option: String) throws -> String {
    guard FileManager.default.fileExists(atPath: path) else { throw CLIError("cannot read \(option) \(path): no such file") }
    do {
        return try String(contentsOfFile: path, encoding: .utf8)
    } catch {
        throw CLIError("cannot read \(option) \(path): \((error as NSError).localizedDescription)")
    }
}
