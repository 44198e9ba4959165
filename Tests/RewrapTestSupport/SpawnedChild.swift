import Foundation
import Synchronization

/// A child process started with `posix_spawn`, for every child the tests start.
///
/// Not Foundation's `Process`: on Linux its `run()` lists `/proc/self/fd` to close every
/// descriptor in the child, copying each entry's whole 256-byte `d_name`, which reads past the
/// end of glibc's directory buffer when that buffer ends at a page boundary. With the 2,000
/// descriptors `AbuseTests` holds open in this process, a test starting a child at that moment
/// crashed the test process (SIGSEGV in `memcpy` under `Process.run`, once in six full runs).
/// Here the child's descriptors past stdio are closed with `posix_spawn_file_actions_addclosefrom_np`
/// (glibc ≥ 2.34), which reads nothing.
final class SpawnedChild: Sendable {
    let pid: pid_t
    /// The termination status once reaped: the exit code, or the signal that ended it (as
    /// `Process.terminationStatus` gives them).
    private let status = Mutex<Int32?>(nil)
    private let exited = DispatchSemaphore(value: 0)

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts `executable` reading `stdin` and writing `stdout` and `stderr`; the child's ends of
    /// the pipes are closed here once it has them, so a reader sees EOF when the child exits.
    convenience init(executable: URL, arguments: [String], directory: URL?, environment: [String: String]?,
                     stdin: Pipe, stdout: Pipe, stderr: Pipe) throws {
        try self.init(executable: executable.path, arguments: arguments, directory: directory?.path, environment: environment,
                      stdin: stdin.fileHandleForReading.fileDescriptor, stdout: stdout.fileHandleForWriting.fileDescriptor,
                      stderr: stderr.fileHandleForWriting.fileDescriptor)
        try? stdin.fileHandleForReading.close()
        try? stdout.fileHandleForWriting.close()
        try? stderr.fileHandleForWriting.close()
    }

    /// Starts `executable` with stdin, stdout and stderr on the given descriptors (the child's
    /// copies; the caller closes its own after this returns).
    private init(executable: String, arguments: [String], directory: String?, environment: [String: String]?,
                 stdin: Int32, stdout: Int32, stderr: Int32) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        guard Self.closeFrom(&actions, 3) == 0 else { throw SpawnError(description: "posix_spawn_file_actions_addclosefrom_np failed") }
        if let directory, Self.changeDirectory(&actions, directory) != 0 {
            throw SpawnError(description: "posix_spawn_file_actions_addchdir_np failed")
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, as Process does: a signal to the test run is not the child's.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let pairs = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { pairs.forEach { free($0) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, pairs)
        guard result == 0 else { throw SpawnError(description: "posix_spawn \(executable): \(String(cString: strerror(result)))") }
        self.pid = pid
        let child = pid
        // Reaped on a thread of its own, so `isRunning` and the waits never block on waitpid.
        Thread.detachNewThread { [self] in
            var raw: Int32 = 0
            while waitpid(child, &raw, 0) == -1 && errno == EINTR {}
            let signalled = raw & 0x7F
            status.withLock { $0 = signalled == 0 ? (raw >> 8) & 0xFF : signalled }
            exited.signal()
        }
    }

    var isRunning: Bool { status.withLock { $0 == nil } }

    /// The status once the child has exited, or nil if it still runs at `deadline`.
    func wait(until deadline: DispatchTime) -> Int32? {
        guard exited.wait(timeout: deadline) == .success else { return nil }
        exited.signal()
        return status.withLock { $0 }
    }

    func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    // glibc declares these two only under _GNU_SOURCE, which Swift's Glibc module does not set;
    // looked up once by name instead.
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let closeFromFunction: CloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    private static let changeDirectoryFunction: ChangeDirectory? = symbol("posix_spawn_file_actions_addchdir_np")

    private static func symbol<F>(_ name: String) -> F? {
        guard let address = dlsym(nil, name) else { return nil }  // nil: RTLD_DEFAULT
        return unsafeBitCast(address, to: F.self)
    }

    private static func closeFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) -> Int32 {
        closeFromFunction.map { $0(actions, lowest) } ?? -1
    }

    private static func changeDirectory(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Int32 {
        changeDirectoryFunction.map { function in path.withCString { function(actions, $0) } } ?? -1
    }
}
