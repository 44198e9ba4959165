import Foundation

/// Allocation calls of a `rewrap serve` child, counted by `libRewrapAllocationCounter.so`
/// (`Benchmarks/CAllocationCounter`, the interposer the local path links) preloaded into it:
/// every malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign of every server
/// thread adds one to an 8-byte counter in a file both processes map. The harness reads it
/// before and after a timed run; the difference ÷ requests is mallocs per request.
final class ServerAllocationCounter: Sendable {
    let file: URL
    /// What `rewrap serve` is started with: the preload and the counter's file.
    let environment: [String: String]

    /// The library beside this executable (`swift build -c release --product RewrapAllocationCounter`).
    static func library() -> URL? {
        let candidate = RewrapChild.besideThisExecutable("libRewrapAllocationCounter.so")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }

    init(library: URL, folder: URL) throws {
        file = folder.appendingPathComponent("allocation-count")
        guard FileManager.default.createFile(atPath: file.path, contents: Data(count: 8)) else {
            throw BenchError("cannot create the allocation counter file \(file.path)")
        }
        environment = ["LD_PRELOAD": library.path, "REWRAP_ALLOCATION_COUNTER_FILE": file.path]
    }

    /// Allocation calls so far. The counter is written with relaxed atomic adds through a shared
    /// mapping; reading its page through the file gives the same page-cache bytes.
    func count() -> Int64 {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return -1 }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 8), data.count == 8 else { return -1 }
        return data.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
    }
}
