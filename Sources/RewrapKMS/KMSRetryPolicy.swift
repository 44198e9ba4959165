/// kms.md §5.4's client discipline.
public struct KMSRetryPolicy: Sendable {
    public var maxAttempts = 3
    public var perAttemptTimeout: Duration = .seconds(2)
    public var deadline: Duration = .seconds(5)
    /// Full jitter: sleep uniform(0, min(maxBackoff, baseBackoff · 2^attempt)).
    public var baseBackoff: Duration = .milliseconds(25)
    public var maxBackoff: Duration = .seconds(1)
    /// Retry budget, as AWS SDKs' retry quota: a retry spends `retryCost` (timeouts
    /// `timeoutCost`), a success returns `successRefund`, up to `budget`.
    public var budget = 500
    public var retryCost = 5
    public var timeoutCost = 10
    public var successRefund = 1
    /// Adaptive attempt timeout: once `adaptiveTimeoutSamples` answers are seen, an attempt may
    /// take `adaptiveTimeoutMultiplier` × their p99 (at least `minimumAttemptTimeout`, at most
    /// `perAttemptTimeout`). A stalled call then costs a few p99s, not seconds, before its retry.
    public var adaptiveTimeoutMultiplier = 4.0
    public var adaptiveTimeoutSamples = 200
    public var minimumAttemptTimeout: Duration = .milliseconds(250)

    public init() {}
}

