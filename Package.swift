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
        .target(name: "RewrapClient", dependencies: ["RewrapCrypto", "RewrapWire"]),
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
        .executableTarget(
            name: "rewrap-bench",
            dependencies: [
                "RewrapEngine", "RewrapKeyManagement", "RewrapKMS", "RewrapKMSSimulator", "RewrapClient", "RewrapCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/RewrapBench",
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),
        .testTarget(
            name: "RewrapTests",
            dependencies: ["RewrapEngine", "RewrapKeyManagement", "RewrapKMS", "RewrapKMSSimulator", "RewrapClient", "RewrapCrypto", "RewrapWire"],
            exclude: ["Fixtures"]
        ),
    ]
)
