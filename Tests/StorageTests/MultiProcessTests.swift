import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// Several processes sharing one local store, through `relay-store-probe`: what the store promises
/// across processes (one getter per visible message, one winner per ETag race, nothing acknowledged
/// lost to a kill -9).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct MultiProcessTests {
    /// A start time a little ahead, so that probes start racing together after opening the store.
    static func commonStart() -> String { String(Int64(Date().timeIntervalSince1970 * 1000) + 1500) }

    @Test func twoProcessesDrainOneQueueWithoutSharingOrLosingMessages() async throws {
        let scratch = try TemporaryDirectory()
        defer { withExtendedLifetime(scratch) {} }  // the store lives as long as the test
        let directory = scratch.path
        let queue = try await LocalQueueService(store: LocalStore(path: directory))
        try await queue.createQueue("drain")
        let total = 10_000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for index in stride(from: writer, to: total, by: 4) {
                        try await queue.putMessage("drain", text: String(index), visibilityTimeout: 0, timeToLive: nil)
                    }
                }
            }
            try await group.waitForAll()
        }

        let start = Self.commonStart()
        let probes = try [("a", "32"), ("b", "7")].map { name, batch in
            try ChildProcess(
                storeProbe,
                [
                    "drain", "--store", directory, "--queue", "drain", "--batch", batch, "--start-at", start,
                    "--deadline", "150",
                ],
                outputPath: directory + "/\(name).out")
        }
        for probe in probes {
            let status = await probe.waitForExit(limit: .seconds(160))
            #expect(status == 0, "probe failed: \(probe.errorOutput())")
        }
        let got = try probes.map { try $0.lines().map(String.init) }
        // No process received a message twice, no message went to both, and none is missing.
        #expect(
            Set(got[0]).count == got[0].count && Set(got[1]).count == got[1].count, "a process received a message twice"
        )
        let shared = Set(got[0]).intersection(got[1])
        #expect(shared.isEmpty, "\(shared.count) messages went to both processes, e.g. \(shared.sorted().prefix(5))")
        let missing = Set((0..<total).map(String.init)).subtracting(got[0]).subtracting(got[1])
        #expect(missing.isEmpty, "\(missing.count) messages were never delivered, e.g. \(missing.sorted().prefix(5))")
        // Both took part, so the two really raced.
        #expect(!got[0].isEmpty && !got[1].isEmpty, "a received \(got[0].count), b \(got[1].count)")
        #expect(try await queue.approximateMessageCount("drain") == 0)
    }

    @Test func twoProcessesRacingETagUpdatesHaveOneWinnerPerRound() async throws {
        let scratch = try TemporaryDirectory()
        defer { withExtendedLifetime(scratch) {} }  // the store lives as long as the test
        let directory = scratch.path
        let tables = try await LocalTableService(store: LocalStore(path: directory))
        try await tables.createTable("race")
        try await tables.insert(
            "race", TableEntity(partitionKey: "race", rowKey: "row", properties: ["Round": .int64(0)]))
        let rounds = 1000

        let start = Self.commonStart()
        let probes = try ["a", "b"].map { name in
            try ChildProcess(
                storeProbe,
                [
                    "race", "--store", directory, "--table", "race", "--rounds", String(rounds), "--name", name,
                    "--think", "300", "--start-at", start, "--deadline", "150",
                ],
                outputPath: directory + "/\(name).out")
        }
        for probe in probes {
            let status = await probe.waitForExit(limit: .seconds(160))
            #expect(status == 0, "probe failed: \(probe.errorOutput())")
        }
        var wins: [[Int]] = []
        var losses = 0
        for probe in probes {
            let lines = try probe.lines()
            wins.append(lines.compactMap { $0.hasPrefix("win ") ? Int($0.dropFirst(4)) : nil })
            losses += lines.compactMap { $0.hasPrefix("losses ") ? Int($0.dropFirst(7)) : nil }.reduce(0, +)
        }
        // Every round has exactly one winner: the two win lists split 0..<rounds without overlap.
        let doubleWins = Set(wins[0]).intersection(wins[1])
        #expect(
            doubleWins.isEmpty,
            "\(doubleWins.count) rounds were won by both processes, e.g. \(doubleWins.sorted().prefix(5))")
        let unwon = Set(0..<rounds).subtracting(wins[0]).subtracting(wins[1])
        #expect(unwon.isEmpty, "\(unwon.count) rounds were won by nobody, e.g. \(unwon.sorted().prefix(5))")
        #expect(wins[0].count + wins[1].count == rounds)
        // Losses prove the processes did race; without contention the test would prove nothing.
        #expect(losses > 0, "a won \(wins[0].count), b won \(wins[1].count), no update ever lost")
        let row = try await tables.get("race", partitionKey: "race", rowKey: "row")
        #expect(row["Round"] == .int64(Int64(rounds)))
    }

    @Test func killingAWriterLosesNothingItWasToldWasStored() async throws {
        let scratch = try TemporaryDirectory()
        defer { withExtendedLifetime(scratch) {} }  // the store lives as long as the test
        let directory = scratch.path
        do {
            let store = try LocalStore(path: directory)
            try await LocalTableService(store: store).createTable("crash")
            try await LocalQueueService(store: store).createQueue("crash")
        }
        let probe = try ChildProcess(
            storeProbe,
            [
                "write", "--store", directory, "--table", "crash", "--queue", "crash", "--tasks", "4", "--deadline",
                "60",
            ],
            outputPath: directory + "/write.out")
        // Kill at a point that varies with the seed once plenty of writes were acknowledged.
        var random = SplitMix64(seed: 90)
        let target = Int.random(in: 300...900, using: &random)
        try await probe.waitForLines(target, limit: .seconds(60))
        probe.kill9()
        let status = await probe.waitForExit(limit: .seconds(10))
        #expect(status == SIGKILL, "the probe ended by itself before the kill: \(probe.errorOutput())")

        let lines = try probe.lines()
        #expect(lines.count >= target)
        let ackedRows = Set(lines.filter { $0.hasPrefix("row ") }.map { String($0.dropFirst(4)) })
        let ackedMessages = Set(lines.filter { $0.hasPrefix("msg ") }.map { String($0.dropFirst(4)) })

        // A new store over the same directory, as a restarted process would open it.
        let store = try LocalStore(path: directory)
        #expect(try await store.run { try $0.query("PRAGMA integrity_check") } == [[.text("ok")]])
        let tables = try await LocalTableService(store: store)
        var storedRows: Set<String> = []
        var continuation: TableContinuation?
        repeat {
            let page = try await tables.query(
                "crash", partitionKey: "probe", rowKeyFrom: nil, rowKeyTo: nil, pageSize: 1000,
                continuation: continuation)
            storedRows.formUnion(page.entities.map(\.rowKey))
            continuation = page.continuation
        } while continuation != nil
        let queue = try await LocalQueueService(store: store)
        var storedMessages: Set<String> = []
        while case let batch = try await queue.getMessages("crash", count: 32, visibilityTimeout: 300), !batch.isEmpty {
            storedMessages.formUnion(batch.map(\.text))
        }
        #expect(
            ackedRows.isSubset(of: storedRows), "lost rows: \(ackedRows.subtracting(storedRows).sorted().prefix(10))")
        #expect(
            ackedMessages.isSubset(of: storedMessages),
            "lost messages: \(ackedMessages.subtracting(storedMessages).sorted().prefix(10))")
        // Every message follows its row, so nothing was stored out of order either.
        #expect(storedMessages.isSubset(of: storedRows))
    }

    @Test func killingADrainerLosesNoMessage() async throws {
        let scratch = try TemporaryDirectory()
        defer { withExtendedLifetime(scratch) {} }  // the store lives as long as the test
        let directory = scratch.path
        let queue = try await LocalQueueService(store: LocalStore(path: directory))
        try await queue.createQueue("drain")
        let total = 3000
        for index in 0..<total {
            try await queue.putMessage("drain", text: String(index), visibilityTimeout: 0, timeToLive: nil)
        }

        // Messages it received but had not deleted when killed come back after their 1 s timeout.
        let probe = try ChildProcess(
            storeProbe,
            [
                "drain", "--store", directory, "--queue", "drain", "--batch", "32", "--visibility", "1", "--deadline",
                "60",
            ],
            outputPath: directory + "/drain.out")
        var random = SplitMix64(seed: 150)
        let target = Int.random(in: 200...1500, using: &random)
        try await probe.waitForLines(target, limit: .seconds(60))
        probe.kill9()
        #expect(
            await probe.waitForExit(limit: .seconds(10)) == SIGKILL,
            "the probe ended by itself before the kill: \(probe.errorOutput())")
        let received = try probe.lines().map(String.init)

        try await Task.sleep(for: .milliseconds(1100))
        var rest: [String] = []
        while case let batch = try await queue.getMessages("drain", count: 32, visibilityTimeout: 300), !batch.isEmpty {
            rest += batch.map(\.text)
            for message in batch {
                try await queue.deleteMessage("drain", id: message.id, popReceipt: message.popReceipt)
            }
        }
        let missing = Set((0..<total).map(String.init)).subtracting(received).subtracting(rest)
        #expect(missing.isEmpty, "\(missing.count) messages were lost, e.g. \(missing.sorted().prefix(5))")
        #expect(try await queue.approximateMessageCount("drain") == 0)
    }
}
