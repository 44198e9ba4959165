import ArgumentParser
import RewrapCrypto

/// `--alg` options parse straight to a `KeyAlgorithm`: `--help` and the parser's error for a bad
/// value list the spellings of `KeyAlgorithm.kasAlgorithms`, so no command keeps its own list.
extension KeyAlgorithm: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(argument)
    }

    public static var allValueStrings: [String] { kasAlgorithms.map(\.description) }

    public var defaultValueDescription: String { description }
}
