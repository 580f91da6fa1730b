import Testing

@testable import UnwrapdCore

/// `HoldPolicy`: when a deferred client write may wait for the rest of its response.
@Suite struct HoldPolicyTests {
    /// Ends a window of holds, `paid` of them with more bytes.
    static func endWindow(_ policy: inout HoldPolicy, paid: Int) {
        for index in 0..<HoldPolicy.window { policy.record(paid: index < paid) }
    }

    /// How many of `count` deferrals may wait.
    static func holdsAllowed(_ policy: inout HoldPolicy, of count: Int) -> Int {
        (0..<count).filter { _ in policy.allowsHold() }.count
    }

    @Test func aWaitOfZeroNeverHolds() {
        var policy = HoldPolicy(limitMicroseconds: 0)
        #expect(policy.limit == 0)
        #expect(Self.holdsAllowed(&policy, of: 100) == 0)
    }

    @Test func everyDeferralMayWaitAtFirst() {
        var policy = HoldPolicy(limitMicroseconds: 30)
        #expect(policy.limit == 30_000)
        #expect(Self.holdsAllowed(&policy, of: 100) == 100)
    }

    @Test func holdsThatRarelyPayStopAndOnlyProbesWaitThen() {
        var policy = HoldPolicy(limitMicroseconds: 30)
        Self.endWindow(&policy, paid: HoldPolicy.window / HoldPolicy.paidShare)
        #expect(policy.holding, "one in paidShare is enough")
        Self.endWindow(&policy, paid: HoldPolicy.window / HoldPolicy.paidShare - 1)
        #expect(!policy.holding)
        #expect(Self.holdsAllowed(&policy, of: HoldPolicy.probeInterval * 3) == 3)
    }

    @Test func probesThatPayStartHoldingAgain() {
        var policy = HoldPolicy(limitMicroseconds: 30)
        Self.endWindow(&policy, paid: 0)
        #expect(!policy.holding)
        Self.endWindow(&policy, paid: HoldPolicy.window / 2)
        #expect(policy.holding)
        #expect(Self.holdsAllowed(&policy, of: 10) == 10)
    }

    @Test func aVerdictWaitsForAWholeWindow() {
        var policy = HoldPolicy(limitMicroseconds: 30)
        for _ in 1..<HoldPolicy.window { policy.record(paid: false) }
        #expect(policy.holding)
        policy.record(paid: false)
        #expect(!policy.holding)
    }
}
