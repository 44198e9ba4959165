import Foundation

/// How the simulated KMS behaves (kms.md §5): service latency, request quotas, faults, and the
/// cost of a new connection. Every number can be set; the defaults are kms.md's.
public struct SimulatorProfile: Sendable, Codable, Equatable {
    /// Lognormal service time with median `p50Milliseconds` and σ from `p99Milliseconds`,
    /// plus a rare heavy tail.
    public struct Latency: Sendable, Codable, Equatable {
        public var p50Milliseconds: Double = 10
        public var p99Milliseconds: Double = 50
        /// Probability and range (ms) of an extra stall on top (kms.md: 1e-3 → 100–500 ms).
        public var tailProbability: Double = 1e-3
        public var tailMilliseconds: ClosedRange<Double> = 100...500
        /// Rarer, longer stalls (1e-5 → 2–6 s): these become client timeouts.
        public var stallProbability: Double = 1e-5
        public var stallMilliseconds: ClosedRange<Double> = 2000...6000

        public static let zero = Latency(p50Milliseconds: 0, p99Milliseconds: 0, tailProbability: 0, stallProbability: 0)

        public init(p50Milliseconds: Double = 10, p99Milliseconds: Double = 50, tailProbability: Double = 1e-3,
                    tailMilliseconds: ClosedRange<Double> = 100...500, stallProbability: Double = 1e-5,
                    stallMilliseconds: ClosedRange<Double> = 2000...6000) {
            self.p50Milliseconds = p50Milliseconds
            self.p99Milliseconds = p99Milliseconds
            self.tailProbability = tailProbability
            self.tailMilliseconds = tailMilliseconds
            self.stallProbability = stallProbability
            self.stallMilliseconds = stallMilliseconds
        }

        /// σ of the underlying normal: p99 = p50 · e^(2.326σ).
        public var sigma: Double {
            guard p50Milliseconds > 0, p99Milliseconds > p50Milliseconds else { return 0 }
            return log(p99Milliseconds / p50Milliseconds) / 2.3263478740
        }
    }

    /// Token buckets per key class, refilled continuously, holding one second of rate.
    public struct Quotas: Sendable, Codable, Equatable {
        public var rsaPerSecond: Double = 1000
        public var eccPerSecond: Double = 1000
        public var symmetricPerSecond: Double = 10000
        public var getPublicKeyPerSecond: Double = 2000
        public var describeKeyPerSecond: Double = 2000

        /// AWS's current defaults (kms.md §2.1).
        public static let current = Quotas()
        /// The older published limits: RSA 500/s, ECC 300/s, GetPublicKey 5/s.
        public static let legacy = Quotas(rsaPerSecond: 500, eccPerSecond: 300, getPublicKeyPerSecond: 5, describeKeyPerSecond: 1000)
        /// No limits (unit tests).
        public init(rsaPerSecond: Double = 1000, eccPerSecond: Double = 1000, symmetricPerSecond: Double = 10000,
                    getPublicKeyPerSecond: Double = 2000, describeKeyPerSecond: Double = 2000) {
            self.rsaPerSecond = rsaPerSecond
            self.eccPerSecond = eccPerSecond
            self.symmetricPerSecond = symmetricPerSecond
            self.getPublicKeyPerSecond = getPublicKeyPerSecond
            self.describeKeyPerSecond = describeKeyPerSecond
        }

        public static let unlimited = Quotas(rsaPerSecond: .infinity, eccPerSecond: .infinity, symmetricPerSecond: .infinity,
                                             getPublicKeyPerSecond: .infinity, describeKeyPerSecond: .infinity)
    }

    /// Probabilities per request of each transient fault (kms.md §5.4), and an outage window.
    public struct Faults: Sendable, Codable, Equatable {
        public var internalError = 0.0       // KMSInternalException, 500
        public var serviceUnavailable = 0.0  // ServiceUnavailable, 503
        public var keyUnavailable = 0.0      // KeyUnavailableException, 500
        public var dependencyTimeout = 0.0   // DependencyTimeoutException, 500
        public var connectionReset = 0.0
        public var hang = 0.0                // no answer at all
        /// Seconds after start during which every request fails with 503 (nil: none).
        public var outageStartSeconds: Double?
        public var outageDurationSeconds: Double = 30

        public init(internalError: Double = 0, serviceUnavailable: Double = 0, keyUnavailable: Double = 0,
                    dependencyTimeout: Double = 0, connectionReset: Double = 0, hang: Double = 0,
                    outageStartSeconds: Double? = nil, outageDurationSeconds: Double = 30) {
            self.internalError = internalError
            self.serviceUnavailable = serviceUnavailable
            self.keyUnavailable = keyUnavailable
            self.dependencyTimeout = dependencyTimeout
            self.connectionReset = connectionReset
            self.hang = hang
            self.outageStartSeconds = outageStartSeconds
            self.outageDurationSeconds = outageDurationSeconds
        }

        public static let none = Faults()
        public static let realistic = Faults(internalError: 5e-6, serviceUnavailable: 2e-6, keyUnavailable: 1e-6,
                                             dependencyTimeout: 1e-6, connectionReset: 1e-6, hang: 1e-6)
        public static let stress = Faults(internalError: 0.005, serviceUnavailable: 0.002, keyUnavailable: 0.001,
                                          dependencyTimeout: 0.001, connectionReset: 0.001, hang: 0.0005)
    }

    /// An HSM behind the service (kms.md §5.3): `units` parallel units, each op holding one for a
    /// fixed service time, a FIFO queue of at most `queueDepth` waiting ops; a full queue answers
    /// "HSM busy" as a ThrottlingException. Off by default (AWS KMS is a fleet; its quota binds).
    public struct HSM: Sendable, Codable, Equatable {
        public var units = 8
        public var queueDepth = 256
        public var rsa2048Milliseconds = 1.0
        public var rsa3072Milliseconds = 2.8
        public var rsa4096Milliseconds = 6.3
        public var ecMilliseconds = 1.0
        public var symmetricMilliseconds = 0.2

        public init(units: Int = 8, queueDepth: Int = 256) {
            self.units = units
            self.queueDepth = queueDepth
        }
    }

    public var latency = Latency()
    public var quotas = Quotas.current
    public var hsm: HSM?
    public var faults = Faults.realistic
    /// Extra latency for the first request on a new connection (a TLS handshake in real life).
    public var newConnectionMilliseconds: Double = 30
    /// Service-time multipliers: RSA-3072 ×3, RSA-4096 ×7 (kms.md §5.1).
    public var keySizeMultipliers = true

    public init(latency: Latency = Latency(), quotas: Quotas = .current, faults: Faults = .realistic,
                newConnectionMilliseconds: Double = 30, keySizeMultipliers: Bool = true) {
        self.latency = latency
        self.quotas = quotas
        self.faults = faults
        self.newConnectionMilliseconds = newConnectionMilliseconds
        self.keySizeMultipliers = keySizeMultipliers
    }

    /// `realistic` (kms.md defaults), `stress`, `outage` (a 30 s outage 5 s after start), `zero`
    /// (no latency, no quota, no faults: unit tests).
    public static func named(_ name: String) -> SimulatorProfile? {
        switch name {
        case "realistic", "default": return SimulatorProfile()
        case "stress": return SimulatorProfile(faults: .stress)
        case "outage":
            var faults = Faults.realistic
            faults.outageStartSeconds = 5
            return SimulatorProfile(faults: faults)
        case "zero": return SimulatorProfile(latency: .zero, quotas: .unlimited, faults: .none, newConnectionMilliseconds: 0)
        default: return nil
        }
    }
}
