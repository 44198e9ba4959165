import Foundation
import RewrapRegistry
import RewrapWire

/// Registry output: a table for people, JSON for scripts. Never prints key material.
enum Output {
    struct KeyView: Codable {
        var id: String
        var kid: String
        var algorithm: String
        var algorithmEnum: Int
        var status: String
        var mode: String
        var legacy: Bool
        var provider: String?
        var privateKeyID: String?
        var wrappedKeyBytes: Int?
        var publicKeyPEM: String
        var createdAt: String
        var updatedAt: String
    }

    static func view(_ record: KeyRecord) -> KeyView {
        let formatter = ISO8601DateFormatter()
        let wrapped = record.privateKeyContext?.wrappedKey ?? ""
        return KeyView(
            id: record.id, kid: record.kid, algorithm: record.algorithm.description, algorithmEnum: record.algorithmEnumValue,
            status: record.status.description, mode: record.mode.description, legacy: record.legacy,
            provider: record.providerConfig?.name, privateKeyID: record.privateKeyContext?.keyID.nilIfEmpty,
            wrappedKeyBytes: wrapped.isEmpty ? nil : Base64.decode(wrapped, options: .protoJSON)?.count,
            publicKeyPEM: record.publicKeyPEM, createdAt: formatter.string(from: record.createdAt),
            updatedAt: formatter.string(from: record.updatedAt))
    }

    static func json<T: Encodable>(_ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try! encoder.encode(value), as: UTF8.self))
    }

    static func keys(_ records: [KeyRecord], json asJSON: Bool) {
        if asJSON { return json(records.map(view)) }
        table(["KID", "ALGORITHM", "STATUS", "MODE", "LEGACY", "PROVIDER", "CREATED"], records.map { record in
            [record.kid, record.algorithm.description, record.status.description, record.mode.description,
             record.legacy ? "yes" : "", record.providerConfig?.name ?? "",
             ISO8601DateFormatter().string(from: record.createdAt)]
        })
    }

    static func key(_ record: KeyRecord, json asJSON: Bool) {
        if asJSON { return json(view(record)) }
        let v = view(record)
        let rows: [(String, String)] = [
            ("kid", v.kid), ("id", v.id), ("algorithm", "\(v.algorithm) (enum \(v.algorithmEnum))"), ("status", v.status),
            ("mode", v.mode), ("legacy", v.legacy ? "yes" : "no"), ("provider", v.provider ?? "-"),
            ("private key id", v.privateKeyID ?? "-"), ("wrapped key", v.wrappedKeyBytes.map { "\($0) bytes" } ?? "-"),
            ("created", v.createdAt), ("updated", v.updatedAt),
        ]
        for (name, value) in rows { print(name.padding(toLength: 15, withPad: " ", startingAt: 0) + value) }
        print(v.publicKeyPEM, terminator: v.publicKeyPEM.hasSuffix("\n") ? "" : "\n")
    }

    /// `items` as JSON for scripts, else a table of `header` with one `row` per item.
    static func list<Item: Encodable>(_ items: [Item], json asJSON: Bool, header: [String], row: (Item) -> [String]) {
        if asJSON { return json(items) }
        table(header, items.map(row))
    }

    static func table(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { column in
            ([header[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        print(line(header))
        for row in rows { print(line(row)) }
        if rows.isEmpty { print("(none)") }
    }
}

