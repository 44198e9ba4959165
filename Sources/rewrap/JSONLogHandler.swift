import Foundation
import Logging
import RewrapWire

/// One JSON object per line on standard error: `time`, `level`, `logger`, `message`, then the
/// metadata. Written with the package's one JSON writer, so any text is escaped correctly.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var json = JSONWriter(capacity: 256)
        json.raw("{")
        json.key("time")
        json.string(Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)))
        json.raw(",")
        json.key("level")
        json.string(event.level.rawValue)
        json.raw(",")
        json.key("logger")
        json.string(label)
        json.raw(",")
        json.key("message")
        json.string(event.message.description)
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() {
            json.raw(",")
            json.key(key)
            Self.write(merged[key]!, to: &json)
        }
        json.raw("}\n")
        FileHandle.standardError.write(Data(json.bytes))
    }

    private static func write(_ value: Logger.MetadataValue, to json: inout JSONWriter) {
        switch value {
        case .string(let text): json.string(text)
        case .stringConvertible(let convertible): json.string(convertible.description)
        case .array(let values):
            json.raw("[")
            for (index, element) in values.enumerated() {
                if index > 0 { json.raw(",") }
                write(element, to: &json)
            }
            json.raw("]")
        case .dictionary(let members):
            json.raw("{")
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { json.raw(",") }
                json.key(key)
                write(members[key]!, to: &json)
            }
            json.raw("}")
        }
    }
}
