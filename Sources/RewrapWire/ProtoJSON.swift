import Foundation

/// A coding key that is any string, so one field can be read under its proto3-JSON name
/// (`keyAccessObjectId`) or its proto field name (`key_access_object_id`), as protojson does.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer where K == AnyKey {
    /// The first present, non-null value among `names`.
    func field<T: Decodable>(_ type: T.Type, _ names: String...) throws -> T? {
        for name in names {
            let key = AnyKey(name)
            if contains(key), try !decodeNil(forKey: key) {
                return try decode(T.self, forKey: key)
            }
        }
        return nil
    }

    /// A proto3 `bytes` field: base64, standard or URL-safe alphabet, padded or not.
    func bytesField(_ names: String...) throws -> [UInt8]? {
        for name in names {
            let key = AnyKey(name)
            if contains(key), try !decodeNil(forKey: key) {
                let text = try decode(String.self, forKey: key)
                guard let bytes = Base64.decode(text, options: .protoJSON) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: key, in: self, debugDescription: "\(name) is not valid base64")
                }
                return bytes
            }
        }
        return nil
    }
}

/// Proto3-JSON decoding entry point shared by the request and response types.
package enum ProtoJSON {
    /// Decodes `T` from UTF-8 JSON. Errors are Foundation's `DecodingError`s; callers map them
    /// to the wire's `invalid request body`.
    package static func decode<T: Decodable>(_ type: T.Type, from json: Data) throws -> T {
        try JSONDecoder().decode(T.self, from: json)
    }

    package static func decode<T: Decodable>(_ type: T.Type, from json: [UInt8]) throws -> T {
        try decode(T.self, from: Data(json))
    }
}
