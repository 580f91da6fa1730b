// swift-tools-version:6.0
// unwrapd: the Scalable TLS Unwrapping Daemon.
//
// The daemon targets depend on no Swift package and import no Foundation (see README "Design"): they fork,
// and Foundation/Dispatch would add threads, ~60 MB of binary and start-up time. Tests may use Foundation.
import PackageDescription

let package = Package(
    name: "unwrapd",
    products: [
        .executable(name: "unwrapd", targets: ["unwrapd"])
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "CUnwrapdShims",
            dependencies: ["COpenSSL"],
            linkerSettings: [.linkedLibrary("ev")]
        ),
        .target(
            name: "UnwrapdCore",
            dependencies: ["CUnwrapdShims", "COpenSSL"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "unwrapd",
            dependencies: ["UnwrapdCore"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "UnwrapdCoreTests",
            dependencies: ["UnwrapdCore"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "UnwrapdIntegrationTests",
            dependencies: ["unwrapd", "CUnwrapdShims", "COpenSSL"],
            exclude: ["Fixtures"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
