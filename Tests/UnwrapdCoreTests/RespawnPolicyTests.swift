import Testing

@testable import UnwrapdCore

@Suite struct RespawnPolicyTests {
    let policy = RespawnPolicy()

    @Test func oneQuickDeathRestartsAtOnce() {
        #expect(policy.delay(afterQuickExits: 0) == 0)
        #expect(policy.delay(afterQuickExits: 1) == 0)
    }

    @Test func repeatedQuickDeathsBackOffExponentiallyUpToTheMaximum() {
        #expect(policy.delay(afterQuickExits: 2) == 0.1)
        #expect(policy.delay(afterQuickExits: 3) == 0.2)
        #expect(policy.delay(afterQuickExits: 4) == 0.4)
        #expect(policy.delay(afterQuickExits: 12) == 30)
        #expect(policy.delay(afterQuickExits: 1000) == 30)
    }

    @Test func aHealthyRunResetsTheCount() {
        #expect(policy.quickExits(after: 5, uptime: 3) == 6)
        #expect(policy.quickExits(after: 5, uptime: 60) == 0)
    }
}
