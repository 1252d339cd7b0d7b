// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "vhd-relay",
    products: [
        .library(name: "RelayShared", targets: ["RelayShared"]),
        .executable(name: "relay-client", targets: ["RelayClient"]),
        .executable(name: "relay-worker", targets: ["RelayWorker"]),
        .executable(name: "relay-devstore", targets: ["RelayDevStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(
            name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(
            name: "CXXHash", path: "Sources/CXXHash", pkgConfig: "libxxhash",
            providers: [.apt(["libxxhash-dev"])]),
        .systemLibrary(
            name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        // Linux calls that need _GNU_SOURCE (fallocate's flags, SEEK_DATA, FICLONE), for SystemFile.
        .target(name: "CLinux", path: "Sources/CLinux", cSettings: [.define("_GNU_SOURCE")]),
        .target(
            name: "RelayShared",
            dependencies: [
                "CZlib", "CZstd", "CLZ4", "CXXHash", "CCurl", "CSQLite", "CLinux",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Shared"
        ),
        // The codec benchmark behind `relay-client bench`: spawns `zstd` and `gzip`, draws tables; linked
        // into relay-client only.
        .target(name: "RelayBench", dependencies: ["RelayShared"], path: "Sources/Bench"),
        .executableTarget(
            name: "RelayClient",
            dependencies: [
                "RelayShared",
                "RelayBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Client"
        ),
        // The worker's stages and service, as a library so that tests drive them in-process.
        .target(
            name: "RelayWorkerKit",
            dependencies: [
                "RelayShared",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Sources/WorkerKit"
        ),
        .executableTarget(
            name: "RelayWorker",
            dependencies: [
                "RelayShared",
                "RelayWorkerKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Worker"
        ),
        .target(
            name: "RelayDevStoreKit",
            dependencies: [
                "RelayShared",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Sources/DevStoreKit"
        ),
        .executableTarget(
            name: "RelayDevStore",
            dependencies: [
                "RelayDevStoreKit",
                "RelayShared",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/DevStore"
        ),
        // The second process of the local store's multi-process tests, and the storage benchmarks run by
        // scripts/bench-storage and scripts/bench-http. Not a product, so nothing depending on the package
        // can use it; named like the binary the tests look for.
        .executableTarget(
            name: "relay-store-probe",
            dependencies: [
                "RelayShared",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/StoreProbe"
        ),
        .target(
            name: "TestSupport",
            dependencies: ["RelayShared", .product(name: "Logging", package: "swift-log")],
            path: "Tests/Support"
        ),
        .testTarget(name: "VHDTests", dependencies: ["RelayShared", "TestSupport"], path: "Tests/VHDTests"),
        .testTarget(name: "CodecTests", dependencies: ["RelayShared", "TestSupport"], path: "Tests/CodecTests"),
        .testTarget(name: "ControlTests", dependencies: ["RelayShared", "TestSupport"], path: "Tests/ControlTests"),
        .testTarget(
            name: "ClientTests", dependencies: ["RelayShared", "RelayBench", "TestSupport"], path: "Tests/ClientTests"),
        .testTarget(name: "SyncTests", dependencies: ["RelayShared", "TestSupport"], path: "Tests/SyncTests"),
        .testTarget(
            name: "WorkerTests",
            dependencies: [
                "RelayWorkerKit", "RelayShared", "TestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/WorkerTests"
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["RelayShared", "TestSupport", .product(name: "Logging", package: "swift-log")],
            path: "Tests/StorageTests"
        ),
        .testTarget(
            name: "DevStoreTests",
            dependencies: ["RelayDevStoreKit", "RelayShared", "TestSupport"],
            path: "Tests/DevStoreTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)

// The libFuzzer harness (docs/fuzzing.md): built only by scripts/fuzz, which sets RELAY_FUZZ=1 and
// adds the sanitizer flags, since relay-fuzz links libFuzzer's driver, which other builds lack.
if Context.environment["RELAY_FUZZ"] == "1" {
    package.targets += [
        .target(name: "CFuzz", path: "Fuzz/CFuzz"),
        .executableTarget(
            name: "relay-fuzz",
            dependencies: ["CFuzz", "RelayShared", "RelayDevStoreKit"],
            path: "Fuzz/Targets"
        ),
    ]
}
