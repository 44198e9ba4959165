// swift-tools-version: 6.1
import PackageDescription

// Layering (each arrow is the only direction a dependency goes):
//   rewrap (CLI), rewrap-bench  →  RewrapEngine  →  RewrapWire
//                                       ↓
//   RewrapClient  →  RewrapCrypto  →  COpenSSL (system libssl/libcrypto, the only C boundary)
let package = Package(
    name: "opentdf-rewrap",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RewrapEngine", targets: ["RewrapEngine"]),
        .library(name: "RewrapClient", targets: ["RewrapClient"]),
        .executable(name: "rewrap", targets: ["rewrap"]),
        .executable(name: "rewrap-bench", targets: ["rewrap-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
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
        .target(
            name: "RewrapEngine",
            dependencies: ["RewrapCrypto", "RewrapWire", .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "RewrapClient", dependencies: ["RewrapCrypto", "RewrapWire"]),
        .executableTarget(
            name: "rewrap",
            dependencies: [
                "RewrapEngine", "RewrapClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),
        .executableTarget(
            name: "rewrap-bench",
            dependencies: [
                "RewrapEngine", "RewrapClient", "RewrapCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/RewrapBench",
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),
        .testTarget(
            name: "RewrapTests",
            dependencies: ["RewrapEngine", "RewrapClient", "RewrapCrypto", "RewrapWire"],
            exclude: ["Fixtures"]
        ),
    ]
)
