import Foundation
import RewrapBenchKit

/// Facts about this process and machine that a report records.
enum Environment {
    static var allocator: String {
        // jemalloc exports mallctl; glibc does not.
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallctl") != nil ? "jemalloc" : "glibc"
    }

    static var swiftCompiler: String {
        #if compiler(>=6.4)
        return "6.4+"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #else
        return "<6.2"
        #endif
    }

    static var buildConfiguration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    /// Now, as ISO 8601 in UTC (also the date in result file names).
    static func utcTimestamp() -> String {
        ISO8601DateFormatter().string(from: Date())
    }

    static var machine: BenchReport.Machine {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown"
        let info = ProcessInfo.processInfo
        return .init(cpu: model, cores: info.activeProcessorCount,
                     memoryGiB: (Double(info.physicalMemory) / 1_073_741_824 * 10).rounded() / 10,
                     os: info.operatingSystemVersionString)
    }

    static var gitCommit: String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "--short", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "unknown" }
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !text.isEmpty ? text : "unknown"
    }

    /// jemalloc's shared library, for LD_PRELOAD (Debian's libjemalloc2 package).
    static func jemallocLibrary() -> String? {
        var machine = utsname()
        uname(&machine)
        let arch = withUnsafeBytes(of: machine.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let candidates = ["/usr/lib/\(arch)-linux-gnu/libjemalloc.so.2", "/usr/lib64/libjemalloc.so.2", "/usr/lib/libjemalloc.so.2",
                          "/usr/local/lib/libjemalloc.so.2"]
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}
