import Foundation
import Testing

/// Committed expected outputs in `Golden/`, beside this file. With `REWRAP_UPDATE_GOLDEN=1` a
/// check rewrites its file instead of comparing, and records an issue so that such a run can
/// never pass unnoticed (run again without the variable to verify, then commit the files).
enum Golden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static let updateVariable = "REWRAP_UPDATE_GOLDEN"
    static var updating: Bool { ProcessInfo.processInfo.environment[updateVariable] == "1" }

    static func check(_ actual: String, against name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = directory.appendingPathComponent(name)
        let regenerate = "regenerate with \(updateVariable)=1 swift test --skip-build --filter <this test>, review and commit Golden/\(name)"
        if updating {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: url, options: .atomic)
            Issue.record("rewrote golden file Golden/\(name) (\(updateVariable)=1); run again without it to compare",
                         sourceLocation: sourceLocation)
            return
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            Issue.record("missing golden file \(url.path): \(regenerate)", sourceLocation: sourceLocation)
            return
        }
        let expected = String(decoding: data, as: UTF8.self)
        guard actual != expected else { return }
        Issue.record("\(name) differs from its golden file: \(firstDifference(expected, actual)); \(regenerate)",
                     sourceLocation: sourceLocation)
    }

    /// Where two texts first differ, by line, with both lines (trimmed to a readable length).
    static func firstDifference(_ expected: String, _ actual: String) -> String {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        for index in 0..<max(e.count, a.count) {
            let left = index < e.count ? String(e[index]) : "<end of file>"
            let right = index < a.count ? String(a[index]) : "<end of output>"
            if left != right {
                return "line \(index + 1): expected \(left.prefix(160).debugDescription), got \(right.prefix(160).debugDescription)"
            }
        }
        return "same lines, different line endings"
    }
}
