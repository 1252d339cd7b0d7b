import ArgumentParser

extension RelayClientCommand {
    struct Convert: ParsableCommand {}
}
