import ArgumentParser

extension RelayClientCommand.Bench {
    struct Codecs: ParsableCommand {}
}
