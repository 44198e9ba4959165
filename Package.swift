// swift-tools-version: 6.1
import PackageDescription

// Layering (each arrow is the only direction a dependency goes):
//   rewrap (CLI), rewrap-bench  →  RewrapKMSSimulator (simulated AWS KMS + its HTTP server)
//                                       ↓
//                                   RewrapKMS (SigV4, AWS JSON 1.1 client, KMS key manager)
//                                       ↓
//                                   RewrapKeyManagement (keyring, registry, key managers, cache)
//                                       ↓
//                                   RewrapEngine  →  RewrapWire (request/response model)
//                                       ↓
//   RewrapClient  →  RewrapCrypto  →  COpenSSL (system libssl/libcrypto, the only C boundary)
let package = Package(
    name: "opentdf-rewrap",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RewrapEngine", targets: ["RewrapEngine"]),
        .library(name: "RewrapKeyManagement", targets: ["RewrapKeyManagement"]),
        .library(name: "RewrapClient", targets: ["RewrapClient"]),
        .executable(name: "rewrap", targets: ["rewrap"]),
        .executable(name: "rewrap-bench", targets: ["rewrap-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "RewrapCrypto", dependencies: ["COpenSSL"]),
        .target(name: "RewrapWire"),
        .target(name: "RewrapEngine", dependencies: ["RewrapCrypto", "RewrapWire"]),
        .target(
            name: "RewrapKeyManagement",
            dependencies: [
                "RewrapEngine",
                .product(name: "Yams", package: "Yams"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "RewrapClient",
            dependencies: ["RewrapCrypto", "RewrapWire", .product(name: "ZIPFoundation", package: "ZIPFoundation")]
        ),
        .target(
            name: "RewrapKMS",
            dependencies: ["RewrapKeyManagement", .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        .target(
            name: "RewrapKMSSimulator",
            dependencies: [
                "RewrapKMS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "rewrap",
            dependencies: [
                "RewrapEngine", "RewrapKeyManagement", "RewrapKMS", "RewrapKMSSimulator", "RewrapClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),
        // The harness's report model, statistics, regression gate and charts: no engine code, so
        // the tests check them directly.
        .target(
            name: "RewrapBenchKit",
            dependencies: [.product(name: "Histogram", package: "hdrhistogram-swift")],
            path: "Benchmarks/RewrapBenchKit"
        ),
        // Counts allocation calls: malloc and friends defined in the executable, forwarding to the
        // allocator in use.
        .target(name: "CAllocationCounter", path: "Benchmarks/CAllocationCounter"),
        // The allocator is chosen at run time (the harness re-executes itself with LD_PRELOAD), so
        // jemalloc is not linked here.
        .executableTarget(
            name: "rewrap-bench",
            dependencies: [
                "RewrapEngine", "RewrapKeyManagement", "RewrapKMS", "RewrapKMSSimulator", "RewrapClient", "RewrapCrypto",
                "RewrapBenchKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "CAllocationCounter",
            ],
            path: "Benchmarks/RewrapBench"
        ),
        .testTarget(
            name: "RewrapTests",
            dependencies: [
                "RewrapEngine", "RewrapKeyManagement", "RewrapKMS", "RewrapKMSSimulator", "RewrapClient", "RewrapCrypto", "RewrapWire",
                "RewrapBenchKit",
            ],
            exclude: ["Fixtures"]
        ),
    ]
)
