// swift-tools-version: 6.1
import PackageDescription

// The module graph, top to bottom (A → B: A imports B); each module depends only on what it uses.
//
//   rewrap (CLI), rewrap-bench → the modules below they drive
//   RewrapLoad (Benchmarks) → RewrapAuth, RewrapClient,    the open-loop load generator (`rewrap-bench load`)
//                          RewrapGzip, RewrapProto, NIO*   and the workloads the suite shares
//   RewrapServer         → RewrapEngine, RewrapAuth,       the Connect-RPC KAS: NIO transport (HTTP/1.1, h2c,
//                          RewrapProto, RewrapKeyRing,     TLS), Connect unary, AccessService + health,
//                          RewrapRegistry, RewrapGzip,     admission, the engine's threads, metrics, audit
//                          NIO*, Logging, Metrics
//   RewrapProto          → SwiftProtobuf                   generated kas.* and grpc.health.v1 messages (committed)
//   RewrapProviders      → RewrapKMS, RewrapRegistry      key managers built from the registry's provider configs
//   RewrapKMS            → RewrapAWSWire, RewrapRegistry,  AWS KMS client (AsyncHTTPClient), KMS key manager
//                          RewrapAsync
//   RewrapKMSSimulator   → RewrapAWSWire, RewrapCrypto,    simulated AWS KMS, its admin calls, its NIO server
//                          RewrapAsync
//   RewrapAWSWire        → RewrapCrypto, RewrapWire        SigV4, the AWS JSON 1.1 model, the transport seam
//   RewrapRegistrySQLite → RewrapRegistry, GRDB            the SQLite KeyStore
//   RewrapRegistry       → RewrapEngine                    key records, KeyStore, key managers, cache, root key
//   RewrapKeyRing        → RewrapEngine, Yams              keyring files
//   RewrapClient         → RewrapCrypto, RewrapWire        the writer side: KAOs, request bodies, TDF archives
//   RewrapDevIdP         → RewrapAuth, RewrapCrypto        the dev OIDC issuer (`rewrap dev-idp`), its NIO server
//   RewrapAuth           → RewrapCrypto, RewrapWire,       access tokens (OIDC/JWKS, AsyncHTTPClient), DPoP,
//                          Synchronization                 the signed request token, the per-request façade
//   RewrapEngine         → RewrapCrypto, RewrapWire        the engine; KeySource, RemoteKey, RewrapAuthorizer
//   RewrapCrypto         → COpenSSL, RewrapWire            the only code that calls OpenSSL (COpenSSL imported
//                                                          internal; Wire for base64 and, `package` in JWK.swift,
//                                                          the JSONValue a JWK is read from)
//   RewrapWire                                             the wire model, JSON writer, base64, hex
//   RewrapAsync                                            a cancellation-aware async semaphore (KMS client, simulator HSM)
//   RewrapGzip           → CRewrapZlib, NIOCore            gzip bodies, bounded inflate (server, load generator)
//   RewrapSeededRandom                                     SplitMix64 (KMS simulator, load generator schedules)
/// What the two executables that drive everything (the CLI and the benchmark) link.
let driverModules: [Target.Dependency] = [
    "RewrapEngine", "RewrapKeyRing", "RewrapRegistry", "RewrapRegistrySQLite", "RewrapKMS", "RewrapProviders",
    "RewrapKMSSimulator", "RewrapClient", "RewrapCrypto", "RewrapWire", "RewrapAWSWire",
]

let package = Package(
    name: "opentdf-rewrap",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RewrapEngine", targets: ["RewrapEngine"]),
        .library(name: "RewrapKeyRing", targets: ["RewrapKeyRing"]),
        .library(name: "RewrapRegistry", targets: ["RewrapRegistry"]),
        .library(name: "RewrapRegistrySQLite", targets: ["RewrapRegistrySQLite"]),
        .library(name: "RewrapKMS", targets: ["RewrapKMS"]),
        .library(name: "RewrapProviders", targets: ["RewrapProviders"]),
        .library(name: "RewrapKMSSimulator", targets: ["RewrapKMSSimulator"]),
        .library(name: "RewrapClient", targets: ["RewrapClient"]),
        .library(name: "RewrapServer", targets: ["RewrapServer"]),
        .library(name: "RewrapAuth", targets: ["RewrapAuth"]),
        .library(name: "RewrapDevIdP", targets: ["RewrapDevIdP"]),
        .executable(name: "rewrap", targets: ["rewrap"]),
        .executable(name: "rewrap-bench", targets: ["rewrap-bench"]),
        // The same counter as a library `rewrap-bench server` preloads into `rewrap serve`.
        .library(name: "RewrapAllocationCounter", type: .dynamic, targets: ["CAllocationCounter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // The server: swift-protobuf's runtime for the generated messages (the plugin is not a
        // build dependency: scripts/generate-protos.sh); nio-http2 and nio-ssl were already in the
        // graph through async-http-client, so h2c and TLS add no package to resolve.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        // Metrics: the server reports through swift-metrics (any backend); `rewrap serve` exposes
        // them for Prometheus with swift-prometheus (two small packages, no C code).
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // zlib for Connect's gzip bodies; its only caller is RewrapGzip (server and load generator).
        .systemLibrary(name: "CRewrapZlib", path: "Sources/CRewrapZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "RewrapGzip", dependencies: ["CRewrapZlib", .product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "RewrapCrypto", dependencies: ["COpenSSL", "RewrapWire"]),
        .target(name: "RewrapWire"),
        .target(name: "RewrapAsync"),
        // A seeded generator the KMS simulator and the load generator share (reproducible draws).
        .target(name: "RewrapSeededRandom"),
        // The connection registry and answer writer the two loopback servers (dev IdP, KMS
        // simulator) share.
        .target(
            name: "RewrapLoopbackHTTP",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")]
        ),
        .target(name: "RewrapEngine", dependencies: ["RewrapCrypto", "RewrapWire"]),
        .target(name: "RewrapKeyRing", dependencies: ["RewrapEngine", "RewrapCrypto", .product(name: "Yams", package: "Yams")]),
        .target(name: "RewrapRegistry", dependencies: ["RewrapEngine", "RewrapCrypto", "RewrapWire"]),
        .target(
            name: "RewrapRegistrySQLite",
            dependencies: ["RewrapRegistry", "RewrapCrypto", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(
            name: "RewrapClient",
            dependencies: ["RewrapCrypto", "RewrapWire", .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        .target(name: "RewrapAWSWire", dependencies: ["RewrapCrypto", "RewrapWire"]),
        .target(
            name: "RewrapAuth",
            dependencies: [
                "RewrapCrypto", "RewrapWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "RewrapKMS",
            dependencies: [
                "RewrapAWSWire", "RewrapAsync", "RewrapRegistry", "RewrapEngine", "RewrapCrypto", "RewrapWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(name: "RewrapProviders", dependencies: ["RewrapKMS", "RewrapRegistry", "RewrapEngine"]),
        .target(
            name: "RewrapDevIdP",
            dependencies: [
                "RewrapAuth", "RewrapCrypto", "RewrapWire", "RewrapLoopbackHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "RewrapKMSSimulator",
            dependencies: [
                "RewrapAWSWire", "RewrapAsync", "RewrapCrypto", "RewrapWire", "RewrapLoopbackHTTP", "RewrapSeededRandom",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(name: "RewrapProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(
            name: "RewrapServer",
            dependencies: [
                "RewrapEngine", "RewrapAuth", "RewrapKeyRing", "RewrapRegistry", "RewrapProto", "RewrapWire", "RewrapCrypto", "RewrapGzip",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "rewrap",
            dependencies: driverModules + ["RewrapServer", "RewrapAuth", "RewrapDevIdP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),
        // The README's library examples, built by every `swift build` and run by the CLI tests.
        .executableTarget(
            name: "rewrap-examples",
            dependencies: ["RewrapEngine", "RewrapKeyRing", "RewrapRegistry", "RewrapRegistrySQLite", "RewrapProviders"],
            path: "Examples/LibraryUsage"
        ),
        // The harness's report model, statistics, regression gate and charts: no engine code, so
        // the tests check them directly.
        .target(
            name: "RewrapBenchKit",
            dependencies: [.product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "Benchmarks/RewrapBenchKit"
        ),
        // The open-loop load generator (`rewrap-bench load`): arrival schedules, simulated clients
        // (DPoP keys, tokens, prepared SRTs), NIO HTTP/1.1 connections, answer checks, thresholds;
        // and the workloads (requests with their expected outcomes) the suite shares.
        .target(
            name: "RewrapLoad",
            dependencies: [
                "RewrapBenchKit", "RewrapAuth", "RewrapClient", "RewrapCrypto", "RewrapWire", "RewrapGzip", "RewrapProto", "RewrapSeededRandom",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/RewrapLoad"
        ),
        // Counts allocation calls: malloc and friends defined in the executable, forwarding to the
        // allocator in use.
        .target(name: "CAllocationCounter", path: "Benchmarks/CAllocationCounter"),
        // The allocator is chosen at run time (the harness re-executes itself with LD_PRELOAD), so
        // jemalloc is not linked here.
        .executableTarget(
            name: "rewrap-bench",
            dependencies: driverModules + [
                "RewrapBenchKit", "RewrapLoad", "RewrapAuth", "RewrapGzip",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                "CAllocationCounter",
            ],
            path: "Benchmarks/RewrapBench"
        ),
        // Tests: one target per module (Tests/<Module>Tests), each depending on the module it tests,
        // the modules it drives that module through, and the support targets below. Tests that span
        // modules live with the highest module they exercise; `RewrapIntegrationTests` holds those
        // that span unrelated ones (KMS + SQLite registry + engine), `rewrapTests` those that run
        // the built `rewrap` executable.
        //
        // Support (non-test) targets, bottom up: fixture keys, vectors and small helpers; the engine
        // harness (an in-memory KeySource, request/KAO builders, expected wire strings); a temporary
        // SQLite registry.
        .target(name: "RewrapTestSupport", dependencies: ["RewrapCrypto"], path: "Tests/RewrapTestSupport", exclude: ["Fixtures"]),
        .target(
            name: "RewrapEngineTestSupport",
            dependencies: ["RewrapTestSupport", "RewrapEngine", "RewrapClient", "RewrapCrypto", "RewrapWire"],
            path: "Tests/RewrapEngineTestSupport"
        ),
        .target(
            name: "RewrapRegistryTestSupport",
            dependencies: ["RewrapRegistrySQLite", "RewrapRegistry", "RewrapEngine", "RewrapCrypto"],
            path: "Tests/RewrapRegistryTestSupport"
        ),
        .testTarget(name: "RewrapCryptoTests", dependencies: ["RewrapCrypto", "RewrapWire", "RewrapTestSupport"]),
        .testTarget(name: "RewrapAsyncTests", dependencies: ["RewrapAsync", "RewrapTestSupport"]),
        .testTarget(name: "RewrapWireTests", dependencies: ["RewrapWire"]),
        // The writer side (RewrapClient) is how engine tests make KAOs and open results.
        .testTarget(
            name: "RewrapEngineTests",
            dependencies: ["RewrapEngine", "RewrapClient", "RewrapCrypto", "RewrapWire", "RewrapTestSupport", "RewrapEngineTestSupport"]
        ),
        .testTarget(
            name: "RewrapKeyRingTests",
            dependencies: ["RewrapKeyRing", "RewrapEngine", "RewrapClient", "RewrapCrypto", "RewrapWire", "RewrapTestSupport",
                           "RewrapEngineTestSupport"]
        ),
        .testTarget(
            name: "RewrapRegistryTests",
            dependencies: ["RewrapRegistry", "RewrapEngine", "RewrapClient", "RewrapCrypto", "RewrapWire",
                           "RewrapTestSupport", "RewrapEngineTestSupport"]
        ),
        .testTarget(
            name: "RewrapRegistrySQLiteTests",
            dependencies: ["RewrapRegistrySQLite", "RewrapRegistry", "RewrapEngine", "RewrapClient", "RewrapCrypto", "RewrapWire",
                           "RewrapTestSupport", "RewrapEngineTestSupport", "RewrapRegistryTestSupport"]
        ),
        .testTarget(name: "RewrapAWSWireTests", dependencies: ["RewrapAWSWire"]),
        // The simulator is the AWS stand-in the client is tested against.
        .testTarget(
            name: "RewrapKMSTests",
            dependencies: ["RewrapKMS", "RewrapKMSSimulator", "RewrapAWSWire", "RewrapAsync", "RewrapRegistry", "RewrapEngine",
                           "RewrapCrypto", "RewrapWire", "RewrapTestSupport"]
        ),
        .testTarget(
            name: "RewrapProvidersTests",
            dependencies: ["RewrapProviders", "RewrapKMS", "RewrapAWSWire", "RewrapRegistry", "RewrapRegistrySQLite", "RewrapCrypto"]
        ),
        .testTarget(name: "RewrapKMSSimulatorTests", dependencies: ["RewrapKMSSimulator", "RewrapAWSWire", "RewrapCrypto", "RewrapWire"]),
        .testTarget(name: "RewrapAuthTests", dependencies: ["RewrapAuth", "RewrapCrypto", "RewrapWire"]),
        .testTarget(name: "RewrapDevIdPTests", dependencies: ["RewrapDevIdP", "RewrapAuth", "RewrapCrypto"]),
        .testTarget(name: "RewrapClientTests", dependencies: ["RewrapClient", "RewrapCrypto", "RewrapWire", "RewrapTestSupport"]),
        // Through real sockets, with AsyncHTTPClient and curl as the clients (not the server's code).
        .testTarget(
            name: "RewrapServerTests",
            dependencies: ["RewrapServer", "RewrapGzip", "RewrapAuth", "RewrapDevIdP", "RewrapProto", "RewrapEngine", "RewrapKeyRing", "RewrapClient",
                           "RewrapCrypto", "RewrapWire", "RewrapTestSupport", "RewrapEngineTestSupport",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"),
                           .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl"),
                           .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle")]
        ),
        .testTarget(name: "RewrapBenchKitTests", dependencies: ["RewrapBenchKit"], exclude: ["Golden"]),
        .testTarget(
            name: "RewrapLoadTests",
            dependencies: ["RewrapLoad", "RewrapBenchKit", "RewrapAuth", "RewrapClient", "RewrapCrypto", "RewrapWire", "RewrapGzip",
                           "RewrapProto", "RewrapTestSupport",
                           .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio")]
        ),
        .testTarget(
            name: "RewrapIntegrationTests",
            dependencies: ["RewrapKMS", "RewrapKeyRing", "RewrapKMSSimulator", "RewrapRegistry", "RewrapRegistrySQLite", "RewrapEngine", "RewrapClient",
                           "RewrapCrypto", "RewrapWire", "RewrapTestSupport", "RewrapEngineTestSupport", "RewrapRegistryTestSupport"]
        ),
        // Runs the `rewrap` executable built beside the test bundle (`swift build --build-tests`).
        .testTarget(
            name: "rewrapTests",
            dependencies: ["RewrapRegistrySQLite", "RewrapRegistry", "RewrapRegistryTestSupport", "RewrapClient", "RewrapCrypto",
                           "RewrapWire", "RewrapAWSWire", "RewrapKMS", "RewrapAuth", "RewrapTestSupport", "RewrapBenchKit",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOCore", package: "swift-nio")]
        ),
    ]
)
