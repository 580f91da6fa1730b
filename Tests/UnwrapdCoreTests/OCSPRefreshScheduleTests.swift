import Testing

@testable import UnwrapdCore

@Suite struct OCSPRefreshScheduleTests {
    @Test func responsesNotFetchedYetAreDueAtOnce() {
        let schedule = OCSPRefreshSchedule(
            refreshInterval: 1800, count: 2, fetchedAt: [0, 0], nextUpdates: [0, 0], now: 1_000)
        #expect(schedule.due == [1_000, 1_000])
    }

    @Test func aFetchedResponseIsAskedForAgainAtTheIntervalOrTenMinutesBeforeItsNextUpdate() {
        var schedule = OCSPRefreshSchedule(
            refreshInterval: 1800, count: 3, fetchedAt: [0, 0, 0], nextUpdates: [0, 0, 0], now: 0)
        schedule.record(0, .fetched(nextUpdate: nil), now: 10_000)  // no nextUpdate: the interval
        schedule.record(1, .fetched(nextUpdate: 10_000 + 86_400), now: 10_000)  // a day ahead: the interval
        schedule.record(2, .fetched(nextUpdate: 10_000 + 1_000), now: 10_000)  // 1 000 s ahead: 600 s before it
        #expect(schedule.due == [11_800, 11_800, 10_400])
        #expect(schedule.next() == (index: 2, due: 10_400))
    }

    @Test func neverSoonerThanAMinuteOrTheIntervalWhenShorter() {
        var schedule = OCSPRefreshSchedule(refreshInterval: 1800, count: 1, fetchedAt: [0], nextUpdates: [0], now: 0)
        schedule.record(0, .fetched(nextUpdate: 5_100), now: 5_000)  // nextUpdate 100 s ahead
        #expect(schedule.due == [5_060])
        schedule.record(0, .failed, now: 6_000)  // failed: again in a minute
        #expect(schedule.due == [6_060])
        var quick = OCSPRefreshSchedule(refreshInterval: 2, count: 1, fetchedAt: [0], nextUpdates: [0], now: 0)
        quick.record(0, .failed, now: 100)
        #expect(quick.due == [102])
        quick.record(0, .fetched(nextUpdate: 100 + 86_400), now: 100)
        #expect(quick.due == [102])
    }

    @Test func failuresInARowWaitTwiceAsLongEachUpToTheInterval() {
        var schedule = OCSPRefreshSchedule(refreshInterval: 1800, count: 1, fetchedAt: [0], nextUpdates: [0], now: 0)
        var waits: [Int] = []
        for now in stride(from: 0, to: 8_000, by: 1_000) {
            schedule.record(0, .failed, now: now)
            waits.append(schedule.due[0] - now)
        }
        #expect(waits == [60, 120, 240, 480, 960, 1800, 1800, 1800])
        schedule.record(0, .fetched(nextUpdate: nil), now: 10_000)
        schedule.record(0, .failed, now: 20_000)
        #expect(schedule.due[0] == 20_060, "a success starts the back-off over")
    }

    @Test func aRestartedFetcherResumesFromWhatTheSlotsSay() {
        let schedule = OCSPRefreshSchedule(
            refreshInterval: 1800, count: 2, fetchedAt: [9_000, 0], nextUpdates: [9_000 + 86_400, 0], now: 10_000)
        #expect(schedule.due == [10_800, 10_000])
    }
}
