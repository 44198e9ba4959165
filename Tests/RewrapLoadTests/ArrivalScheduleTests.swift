import Testing
@testable import RewrapLoad

/// `ArrivalSchedule` (ArrivalSchedule.swift): how many arrivals a run holds, where they fall, and
/// that segments split one schedule exactly.
@Suite struct ArrivalScheduleTests {
    private func arrivals(_ schedule: ArrivalSchedule) -> [(index: Int, offset: UInt64)] {
        var iterator = schedule.makeIterator()
        var out: [(index: Int, offset: UInt64)] = []
        while let next = iterator.next() { out.append(next) }
        return out
    }

    @Test func aConstantRateIsEvenlySpaced() {
        let all = arrivals(ArrivalSchedule(rate: 200, duration: 2))
        #expect(all.count == 400)
        #expect(all.first?.offset == 0)
        // 5 ms apart, to the nanosecond's rounding.
        for (previous, next) in zip(all, all.dropFirst()) {
            #expect((4_999_999...5_000_001).contains(next.offset - previous.offset))
        }
        #expect(all.map(\.index) == Array(0..<400))
    }

    @Test func aRampFollowsItsRateCurve() {
        // 100 → 300 req/s over 4 s: (100 + 300) / 2 × 4 = 800 arrivals, a quarter of them in the
        // first second (N(1) = 100 + 200/8 = 125).
        let all = arrivals(ArrivalSchedule(rate: 100, endRate: 300, duration: 4))
        #expect((799...800).contains(all.count))
        #expect(all.filter { $0.offset < 1_000_000_000 }.count == 125)
        // Ramping down to zero ends with the schedule, too.
        #expect((199...200).contains(arrivals(ArrivalSchedule(rate: 100, endRate: 0, duration: 4)).count))
        // From zero up: N(t) = 50·t²/… still counts (0 + 100) / 2 × 2 = 100.
        #expect((99...100).contains(arrivals(ArrivalSchedule(rate: 0, endRate: 100, duration: 2)).count))
    }

    @Test func poissonArrivalsAreReproducibleAndAtTheRate() {
        let schedule = ArrivalSchedule(rate: 1000, duration: 10, process: .poisson(seed: 42))
        let first = arrivals(schedule)
        let again = arrivals(schedule)
        #expect(first.map(\.offset) == again.map(\.offset))
        // 10,000 expected; a Poisson count's standard deviation is 100, so ±500 is 5 σ.
        #expect(abs(first.count - 10_000) < 500, "\(first.count)")
        let other = arrivals(ArrivalSchedule(rate: 1000, duration: 10, process: .poisson(seed: 43)))
        #expect(other.map(\.offset) != first.map(\.offset))
        // Gaps are exponential: about 1 − 1/e of them are shorter than the mean gap.
        let gaps = zip(first, first.dropFirst()).map { Double($1.offset - $0.offset) }
        let short = Double(gaps.filter { $0 < 1_000_000 }.count) / Double(gaps.count)
        #expect(abs(short - 0.632) < 0.03, "\(short)")
    }

    @Test(arguments: [ArrivalSchedule.Process.constant, .poisson(seed: 7)])
    func segmentsAddUpToTheWholeScheduleWithNoOverlap(process: ArrivalSchedule.Process) {
        let whole = arrivals(ArrivalSchedule(rate: 300, endRate: 900, duration: 3, process: process))
        for count in [1, 2, 3, 7] {
            var union: [(index: Int, offset: UInt64)] = []
            for index in 0..<count {
                let part = arrivals(ArrivalSchedule(rate: 300, endRate: 900, duration: 3, process: process,
                                                    segment: Segment(index: index, count: count)))
                #expect(part.allSatisfy { $0.index % count == index })
                union += part
            }
            union.sort { $0.index < $1.index }
            #expect(union.map(\.index) == whole.map(\.index), "segments of \(count)")
            #expect(union.map(\.offset) == whole.map(\.offset), "segments of \(count)")
        }
    }

    @Test func segmentsParseAsOneBasedFractions() {
        #expect(Segment(parsing: "1/1") == .whole)
        #expect(Segment(parsing: "2/3") == Segment(index: 1, count: 3))
        #expect(Segment(parsing: "3/3")?.description == "3/3")
        for bad in ["0/3", "4/3", "1/0", "1", "a/b", "1/2/3", "-1/2", ""] { #expect(Segment(parsing: bad) == nil, "\(bad)") }
    }

    @Test func targetsParseAsHTTPBaseURLs() throws {
        let plain = try #require(LoadTarget(url: "http://127.0.0.1:8080"))
        #expect(plain.host == "127.0.0.1" && plain.port == 8080 && plain.prefix == "")
        #expect(plain.url(KASProcedure.rewrap) == "http://127.0.0.1:8080/kas.AccessService/Rewrap")
        let prefixed = try #require(LoadTarget(url: "http://kas.example/kas/"))
        #expect(prefixed.port == 80 && prefixed.prefix == "/kas" && prefixed.authority == "kas.example")
        #expect(prefixed.path(KASProcedure.rewrap) == "/kas/kas.AccessService/Rewrap")
        let v6 = try #require(LoadTarget(url: "http://[::1]:9000"))
        #expect(v6.host == "::1" && v6.authority == "[::1]:9000")
        let secure = try #require(LoadTarget(url: "https://kas.example"))
        #expect(secure.tls && secure.port == 443 && secure.authority == "kas.example" && secure.serverName == "kas.example")
        #expect(secure.url(KASProcedure.rewrap) == "https://kas.example/kas.AccessService/Rewrap")
        #expect(LoadTarget(url: "https://127.0.0.1:8443")?.serverName == nil, "no SNI for an address")
        for bad in ["https://", "http://", "http://h:0", "http://h:99999", "http://u@h", "http://h/p?q", "ftp://h", "http://[::1"] {
            #expect(LoadTarget(url: bad) == nil, "\(bad)")
        }
    }
}
