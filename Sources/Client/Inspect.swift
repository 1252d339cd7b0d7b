import ArgumentParser

extension RelayClientCommand {
    struct Inspect: ParsableCommand {}
}
