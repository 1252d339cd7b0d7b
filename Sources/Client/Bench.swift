import ArgumentParser

extension RelayClientCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Throughput benchmarks on real disk data.",
            subcommands: [Codecs.self]
        )
    }
}
