import Testing

@testable import UnwrapdCore

/// `FailureLogBudget`: which lines about failed connections a worker writes under `--connection-log-limit`.
@Suite struct FailureLogBudgetTests {
    /// The decisions for lines due at `times`.
    static func decisions(_ budget: inout FailureLogBudget, at times: [Double]) -> [FailureLogBudget.Decision] {
        times.map { budget.decide(at: $0) }
    }

    @Test func noLimitWritesEveryLine() {
        var budget = FailureLogBudget(linesPerSecond: 0)
        #expect(Self.decisions(&budget, at: Array(repeating: 5, count: 10_000)).allSatisfy { $0 == .write })
        #expect(budget.takeLeftOut() == 0)
    }

    @Test func linesPastTheLimitAreLeftOutAndCounted() {
        var budget = FailureLogBudget(linesPerSecond: 3)
        let decisions = Self.decisions(&budget, at: [10.0, 10.1, 10.2, 10.3, 10.4, 10.9])
        #expect(decisions == [.write, .write, .write, .leaveOutFirst(reportAt: 11.0), .leaveOut, .leaveOut])
        #expect(budget.takeLeftOut() == 3)
        #expect(budget.takeLeftOut() == 0)
    }

    @Test func aNewSecondWritesAgain() {
        var budget = FailureLogBudget(linesPerSecond: 2)
        _ = Self.decisions(&budget, at: [1.0, 1.5, 1.9])
        #expect(budget.takeLeftOut() == 1)
        #expect(Self.decisions(&budget, at: [2.0, 2.1, 2.2]) == [.write, .write, .leaveOutFirst(reportAt: 3.0)])
    }

    /// Lines left out after a report, within the same second, are reported at its end again.
    @Test func aReportStartsANewCount() {
        var budget = FailureLogBudget(linesPerSecond: 1)
        #expect(Self.decisions(&budget, at: [7.0, 7.2]) == [.write, .leaveOutFirst(reportAt: 8.0)])
        #expect(budget.takeLeftOut() == 1)
        #expect(Self.decisions(&budget, at: [7.5, 7.6]) == [.leaveOutFirst(reportAt: 8.0), .leaveOut])
        #expect(budget.takeLeftOut() == 2)
    }

    /// A count not yet reported when the next second starts is reported with that second's (one timer is pending).
    @Test func aPendingCountCarriesIntoTheNextSecond() {
        var budget = FailureLogBudget(linesPerSecond: 1)
        _ = Self.decisions(&budget, at: [1.0, 1.5])
        #expect(Self.decisions(&budget, at: [2.0, 2.1]) == [.write, .leaveOut])
        #expect(budget.takeLeftOut() == 2)
    }
}
