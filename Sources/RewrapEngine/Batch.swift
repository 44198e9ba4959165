import Foundation
import RewrapCrypto
import RewrapWire

/// The KAOs of one request, flattened in request order.
struct Jobs {
    var ids: [String] = []
    var kaos: [KeyAccess?] = []
    var policyIndex: [Int] = []

    init(capacity: Int) {
        ids.reserveCapacity(capacity)
        kaos.reserveCapacity(capacity)
        policyIndex.reserveCapacity(capacity)
    }

    mutating func append(id: String, kao: KeyAccess?, policy: Int) {
        ids.append(id)
        kaos.append(kao)
        policyIndex.append(policy)
    }
}

/// One request in flight: per-KAO state that worker threads fill in, each thread touching only
/// the indices the pool hands it (hence `@unchecked Sendable`). DEKs sit in one wiping buffer,
/// a 32-byte slot per KAO, and are wiped as soon as they are re-wrapped.
final class Batch: @unchecked Sendable {
    enum State {
        case pending
        /// Waiting for a remote key service.
        case remote(KAOUnwrapper.RemoteWork)
        case verified
        case failed(KAOError)
        case wrapped([UInt8])
    }

    static let dekByteCount = 32

    let count: Int
    private let jobs: Jobs
    private let policies: [DecodedPolicy]
    private let unwrapper: KAOUnwrapper
    private let deks: SecureBytes
    private let states: UnsafeMutableBufferPointer<State>
    /// Which KAOs passed unwrap and binding (the audit's subject); each index written by the
    /// thread that owns it, like `states`. Only when the caller audits: otherwise the request
    /// pays no allocation for it (the malloc gate counts every one).
    private let passed: UnsafeMutableBufferPointer<Bool>?
    private var obligations: [[String]]

    /// Remote unwraps start as soon as a worker finds one, so they overlap the local work.
    private let remoteLock = NSLock()
    private var remote: RemoteDispatch?
    private let makeRemote: @Sendable (Batch) -> RemoteDispatch

    init(jobs: Jobs, policies: [DecodedPolicy], unwrapper: KAOUnwrapper, audited: Bool = false,
         makeRemote: @escaping @Sendable (Batch) -> RemoteDispatch) {
        self.makeRemote = makeRemote
        self.count = jobs.ids.count
        self.jobs = jobs
        self.policies = policies
        self.unwrapper = unwrapper
        self.deks = SecureBytes(count: Swift.max(1, jobs.ids.count) * Self.dekByteCount)
        self.states = .allocate(capacity: Swift.max(1, jobs.ids.count))
        self.states.initialize(repeating: .pending)
        if audited {
            let passed = UnsafeMutableBufferPointer<Bool>.allocate(capacity: Swift.max(1, jobs.ids.count))
            passed.initialize(repeating: false)
            self.passed = passed
        } else {
            self.passed = nil
        }
        self.obligations = Array(repeating: [], count: policies.count)
    }

    deinit {
        states.deinitialize()
        states.deallocate()
        passed?.deallocate()
    }

    private func dek(_ index: Int) -> UnsafeMutableRawBufferPointer {
        deks.slice(index * Self.dekByteCount..<(index + 1) * Self.dekByteCount)
    }

    /// Unwrap and verify KAO `index` (spec §5 step 8). Returns false when the KAO went to a
    /// remote key service: it then belongs to the remote dispatch, and this thread must not
    /// touch it again.
    @discardableResult
    func unwrap(_ index: Int, worker: EngineWorker) -> Bool {
        let policy = policies[jobs.policyIndex[index]]
        if let failure = policy.failure {
            states[index] = .failed(failure)
            return true
        }
        guard let kao = jobs.kaos[index] else {
            states[index] = .failed(.keyAccessObjectNil)
            return true
        }
        let outcome = unwrapper.unwrap(kao, policy: policy, worker: worker, into: dek(index))
        record(outcome, at: index)
        if case .remote(let work) = outcome {
            let dispatch = remoteLock.withLock { () -> RemoteDispatch in
                if let existing = remote { return existing }
                let made = makeRemote(self)
                remote = made
                return made
            }
            dispatch.submit(index, work)
            return false
        }
        return true
    }

    /// Waits for every remote unwrap this batch started; false if there were none.
    func finishRemoteWork() async -> Bool {
        guard let dispatch = remoteLock.withLock({ remote }) else { return false }
        await dispatch.finish()
        return true
    }

    private func record(_ outcome: KAOUnwrapper.Outcome, at index: Int) {
        switch outcome {
        case .verified:
            states[index] = .verified
            passed?[index] = true
        case .failed(let error):
            secureWipe(dek(index))
            states[index] = .failed(error)
        case .remote(let work):
            states[index] = .remote(work)
        }
    }

    /// Completes remote KAO `index` with the key service's answer.
    func finishRemote(_ index: Int, work: KAOUnwrapper.RemoteWork, result: Result<SecureBytes, RemoteKeyError>, worker: EngineWorker) {
        guard let kao = jobs.kaos[index] else { return }
        let policy = policies[jobs.policyIndex[index]]
        record(unwrapper.finishRemote(work, result: result, kao: kao, policy: policy, worker: worker, into: dek(index)), at: index)
    }

    /// Re-wrap KAO `index` to the client if it verified and was permitted (spec §5 step 12).
    func rewrap(_ index: Int, with encryptor: ResponseEncryptor?, worker: EngineWorker) {
        guard case .verified = states[index], let encryptor else { return }
        defer { secureWipe(dek(index)) }
        do {
            states[index] = .wrapped(try encryptor.wrap(UnsafeRawBufferPointer(dek(index)), worker: worker.crypto))
        } catch {
            states[index] = .failed(.badKeyForRewrap)
        }
    }

    /// Which policies have at least one verified KAO (only those are sent to the PDP).
    func verifiedPolicies() -> [Bool] {
        var verified = [Bool](repeating: false, count: policies.count)
        for index in 0..<count {
            if case .verified = states[index] { verified[jobs.policyIndex[index]] = true }
        }
        return verified
    }

    var hasVerified: Bool {
        (0..<count).contains { if case .verified = states[$0] { return true } else { return false } }
    }

    /// Fails every KAO of the request with `error`, whatever it reached (the Go KAS's
    /// `failAllKaos`: a PDP failure, or a client key it cannot rewrap to).
    func failAll(_ error: KAOError) {
        for index in 0..<count {
            secureWipe(dek(index))
            states[index] = .failed(error)
        }
        obligations = Array(repeating: [], count: policies.count)
    }

    func apply(_ outcome: AuthorizationOutcome) {
        switch outcome {
        case .failed(let error):
            failAll(error)
        case .decided(let decisions):
            // Denied KAOs carry the obligations too: that is how a client learns what it
            // did not fulfil.
            for (policy, decision) in decisions.enumerated() {
                obligations[policy] = decision.requiredObligations
            }
            for index in 0..<count {
                guard case .verified = states[index], !decisions[jobs.policyIndex[index]].permitted else { continue }
                secureWipe(dek(index))
                states[index] = .failed(.forbidden)
            }
        }
    }

    /// One record per KAO that passed unwrap and binding, in request order.
    func auditRecords() -> [KAOAuditRecord] {
        guard let passed else { return [] }
        var records: [KAOAuditRecord] = []
        for index in 0..<count where passed[index] {
            let policy = policies[jobs.policyIndex[index]]
            let kao = jobs.kaos[index]
            var succeeded = false
            if case .wrapped = states[index] { succeeded = true }
            records.append(KAOAuditRecord(
                keyAccessObjectID: jobs.ids[index], policyUUID: policy.uuid, attributeFQNs: policy.attributeFQNs,
                kid: kao?.kid ?? "", bindingHash: kao?.policyBinding?.hash ?? "", algorithm: policy.algorithm, succeeded: succeeded))
        }
        return records
    }

    /// Results grouped by policy in request order, KAOs in request order within each.
    func response(sessionPublicKey: String) -> RewrapResponse {
        var results = policies.map { PolicyRewrapResult(policyId: $0.id, results: []) }
        for index in 0..<count {
            let policy = jobs.policyIndex[index]
            let outcome: KeyAccessRewrapResult.Outcome
            var required: [String] = []
            switch states[index] {
            case .wrapped(let key):
                outcome = .permit(kasWrappedKey: key)
                required = obligations[policy]
            case .failed(let error):
                outcome = .fail(error: error.wireString)
                if error == .forbidden { required = obligations[policy] }
            case .pending, .verified, .remote:
                outcome = .fail(error: "kao not processed by kas")  // spec §4.4, last row
            }
            results[policy].results.append(
                KeyAccessRewrapResult(keyAccessObjectId: jobs.ids[index], outcome: outcome, requiredObligations: required))
        }
        return RewrapResponse(sessionPublicKey: sessionPublicKey, responses: results)
    }
}

/// A request's remote unwraps: submitted by worker threads as they find them, issued at once up
/// to `bound` in flight, each answer finished (HKDF, AES-GCM, binding) on a pooled worker. So a
/// request's CPU-bound local KAOs and its remote calls overlap, and N remote calls of latency L
/// take about ⌈N / bound⌉ · L.
final class RemoteDispatch: Sendable {
    private let continuation: AsyncStream<(Int, KAOUnwrapper.RemoteWork)>.Continuation
    private let task: Task<Void, Never>

    init(batch: Batch, pool: WorkerPool, bound: Int) {
        let (stream, continuation) = AsyncStream.makeStream(of: (Int, KAOUnwrapper.RemoteWork).self)
        self.continuation = continuation
        let limit = max(1, bound)
        // On its own executor: while a request's local pass holds every pool thread (Dispatch's
        // pool is as wide as the cores), the remote calls must still go out.
        task = Task(executorPreference: RemoteExecutor.shared) {
            await withTaskGroup(of: Void.self) { group in
                var inFlight = 0
                for await (index, work) in stream {
                    if inFlight >= limit {
                        _ = await group.next()
                        inFlight -= 1
                    }
                    group.addTask {
                        let result = await work.perform()
                        pool.withWorker { batch.finishRemote(index, work: work, result: result, worker: $0) }
                    }
                    inFlight += 1
                }
            }
        }
    }

    func submit(_ index: Int, _ work: KAOUnwrapper.RemoteWork) {
        continuation.yield((index, work))
    }

    /// No more submissions; waits for every call to finish.
    func finish() async {
        continuation.finish()
        await task.value
    }
}

/// A task executor on a private serial dispatch queue. User-created serial queues overcommit
/// (Dispatch gives them a thread even when its pool is busy), so remote calls are issued and
/// finished while worker threads are saturated with local KAOs.
final class RemoteExecutor: TaskExecutor {
    static let shared = RemoteExecutor()
    private let queue = DispatchQueue(label: "rewrap.remote-unwraps", qos: .userInitiated)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
