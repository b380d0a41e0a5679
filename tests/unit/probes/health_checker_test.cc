// The health checker in virtual time: schedules, hysteresis over many cycles, up_when,
// cycle deadlines and DNS TTL, refresh and grace. Exchanges and DNS are test doubles that
// answer when the test says; no sockets, no sleeps.
#include "probes/health_checker.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/unit/probes/probe_fakes.h"

namespace stx {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Records what the checker asks of the exchanges; the test (or `answer_with`) ends them.
class FakeExchanges final : public ExchangeRunner {
 public:
  void open(std::uint32_t address, std::uint32_t, const ProbeTarget&,
            const Destination& d) override {
    open_addresses[address] = d;
  }
  void close(std::uint32_t address) override {
    open_addresses.erase(address);
    ++closed;
  }
  void start(std::uint32_t address, TimePoint now, TimePoint deadline) override {
    starts.push_back({address, now, deadline});
    if (answer_with) finish(address, answer_with(address), now);
  }
  void expire(std::uint32_t address, TimePoint now) override {
    expired.push_back({address, now, now});
    ProbeResult r;
    r.reason = FailureReason::timeout;
    r.detail = "no final response";
    listener->exchange_finished(address, r, now);
  }

  void finish(std::uint32_t address, int code, TimePoint now) {
    ProbeResult r;
    r.status_code = code;
    r.success = code >= 200 && code < 300;
    listener->exchange_finished(address, r, now);
  }

  struct Start {
    std::uint32_t address;
    TimePoint at;
    TimePoint deadline;
  };
  ExchangeListener* listener = nullptr;
  std::function<int(std::uint32_t address)> answer_with;  // a final code at once; unset: none
  std::map<std::uint32_t, Destination> open_addresses;
  std::vector<Start> starts;
  std::vector<Start> expired;
  int closed = 0;
};

Destination dest(const char* ip, std::uint16_t port = 5060) {
  return {boost::asio::ip::make_address(ip), port, Transport::udp};
}

LocateResult located(std::vector<Destination> d, seconds ttl = seconds(0)) {
  LocateResult r;
  r.ok = true;
  r.location.destinations = std::move(d);
  r.location.ttl = ttl;
  r.location.from_dns = ttl.count() > 0;
  return r;
}

LocateResult lookup_failed() {
  LocateResult r;
  r.error = "SRV _sip._udp.trunk.example: SERVFAIL";
  return r;
}

TargetConfig target(milliseconds interval = seconds(10), milliseconds timeout = seconds(5)) {
  return test_target("sip:trunk.example", interval, timeout);
}

// One checker on a manual clock, with its timer entries run in virtual time.
struct Rig {
  explicit Rig(const DnsSettings& dns = {})
      : checker({clock, timers, sink, exchanges,
                 [this](const DnsSettings&) {
                   auto l = std::make_unique<FakeLocator>();
                   dns_service = l.get();
                   return l;
                 },
                 [] {}},
                1, dns) {
    exchanges.listener = &checker;
  }

  void run_for(SteadyClock::duration d) {
    VirtualTimers{clock, timers, [this](const TimerEntry& e) { return checker.live(e); },
                  [this](const TimerEntry& e, TimePoint now) { checker.fire(e, now); },
                  [this] {
                    while (auto_locate && dns_service != nullptr && !dns_service->pending.empty()) {
                      dns_service->answer(*auto_locate);
                    }
                  }}
        .run_for(d);
  }

  std::vector<Health> healths() const {
    std::vector<Health> h;
    for (const Finished& f : sink.finished) h.push_back(f.state.health);
    return h;
  }

  ManualClock clock;
  TimerQueue timers;
  RecordingSink sink{&clock};
  FakeExchanges exchanges;
  FakeLocator* dns_service = nullptr;
  std::optional<LocateResult> auto_locate;  // answer every lookup with this at once
  HealthChecker checker;
};

TEST(HealthChecker, FixedRateScheduleDoesNotDriftOverADay) {
  Rig rig;
  rig.auto_locate = located({dest("192.0.2.1")});
  rig.exchanges.answer_with = [](std::uint32_t) { return 200; };
  const TimePoint t0 = rig.clock.now();
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(
                        std::vector<TargetConfig>{target(seconds(10))}),
                    false);
  rig.run_for(std::chrono::hours(24) - milliseconds(1));
  ASSERT_EQ(rig.exchanges.starts.size(), 8640u);  // 24 h / 10 s, the first at t0
  EXPECT_EQ(rig.exchanges.starts.front().at, t0);
  EXPECT_EQ(rig.exchanges.starts.back().at, t0 + seconds(10) * 8639);
  EXPECT_EQ(rig.sink.finished.size(), 8640u);
  EXPECT_EQ(rig.checker.in_flight(), 0u);
}

TEST(HealthChecker, HysteresisOverManyCycles) {
  Rig rig;
  rig.auto_locate = located({dest("192.0.2.1")});
  TargetConfig t = target();
  t.failures_before_down = 3;
  t.successes_before_up = 2;
  // One answer per cycle, in order: ok, ok, 3 failures (down on the third), 1 failure,
  // 1 success (still down), 1 failure, 2 successes (up on the second), then 2 failures
  // and a success (never down).
  const std::vector<int> script = {200, 200, 503, 503, 503, 503, 200, 503, 200, 200, 503, 503, 200};
  std::size_t next = 0;
  rig.exchanges.answer_with = [&](std::uint32_t) { return script[next++]; };
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(std::vector{t}), false);
  rig.run_for(seconds(10) * script.size() - milliseconds(1));
  using enum Health;
  const std::vector<Health> want = {up, up, up, up, down, down, down, down, down, up, up, up, up};
  EXPECT_EQ(rig.healths(), want);
  // Only the two real transitions count as such.
  int transitions = 0;
  for (const Finished& f : rig.sink.finished) transitions += f.change.is_transition() ? 1 : 0;
  EXPECT_EQ(transitions, 2);
}

TEST(HealthChecker, SilentExchangeEndsAtTheCycleDeadline) {
  Rig rig;
  rig.auto_locate = located({dest("192.0.2.1")});
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(
                        std::vector<TargetConfig>{target(seconds(10), seconds(3))}),
                    false);
  rig.run_for(seconds(10) * 3 - milliseconds(1));
  ASSERT_EQ(rig.exchanges.expired.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(rig.exchanges.expired[i].at, rig.exchanges.starts[i].at + seconds(3));
    EXPECT_EQ(rig.exchanges.starts[i].deadline, rig.exchanges.starts[i].at + seconds(3));
    EXPECT_EQ(rig.sink.finished[i].result.reason, FailureReason::timeout);
    EXPECT_EQ(rig.sink.finished[i].result.duration, seconds(3));
  }
  EXPECT_EQ(rig.sink.finished.back().state.health, Health::down);
}

TEST(HealthChecker, UpWhenAnyNeedsOneAddressAndReportsTheOneThatAnswered) {
  Rig rig;
  rig.auto_locate = located({dest("192.0.2.1"), dest("192.0.2.2")});
  std::map<std::uint32_t, int> code;  // the first address opened fails, the second answers
  rig.exchanges.answer_with = [&](std::uint32_t a) {
    if (!code.contains(a)) code[a] = code.empty() ? 503 : 200;
    return code[a];
  };
  rig.checker.start(
      std::make_shared<const std::vector<TargetConfig>>(std::vector<TargetConfig>{target()}),
      false);
  rig.run_for(seconds(1));
  ASSERT_EQ(rig.sink.finished.size(), 1u);
  EXPECT_TRUE(rig.sink.finished[0].result.success);
  EXPECT_EQ(rig.sink.finished[0].result.status_code, 200);
  ASSERT_EQ(rig.sink.address_results.size(), 2u);
  EXPECT_EQ(rig.sink.address_results[0].state.health, Health::down);
  EXPECT_EQ(rig.sink.address_results[1].state.health, Health::up);
}

TEST(HealthChecker, UpWhenAllNeedsEveryAddressAndReportsTheOneThatFailed) {
  Rig rig;
  rig.auto_locate = located({dest("192.0.2.1"), dest("192.0.2.2")});
  std::map<std::uint32_t, int> code;  // the first address opened answers, the second fails
  rig.exchanges.answer_with = [&](std::uint32_t a) {
    if (!code.contains(a)) code[a] = code.empty() ? 200 : 503;
    return code[a];
  };
  TargetConfig t = target();
  t.up_when = UpWhen::all;
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(std::vector{t}), false);
  rig.run_for(seconds(1));
  ASSERT_EQ(rig.sink.finished.size(), 1u);
  EXPECT_FALSE(rig.sink.finished[0].result.success);
  EXPECT_EQ(rig.sink.finished[0].result.status_code, 503);
  EXPECT_EQ(rig.sink.finished[0].state.health, Health::down);
}

TEST(HealthChecker, DnsAnswerIsRefreshedAfterItsTtlAndDroppedAfterTheGrace) {
  DnsSettings dns;
  dns.grace = seconds(60);
  Rig rig(dns);
  rig.exchanges.answer_with = [](std::uint32_t) { return 200; };
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(
                        std::vector<TargetConfig>{target(seconds(10))}),
                    false);
  // t=0: the first cycle waits for DNS; the answer lives 30 s.
  rig.run_for(seconds(0));
  ASSERT_EQ(rig.dns_service->calls, 1);
  rig.dns_service->answer(located({dest("192.0.2.1")}, seconds(30)));
  ASSERT_EQ(rig.exchanges.starts.size(), 1u);

  // t=10, 20: within the TTL, no lookup.
  rig.run_for(seconds(25));
  EXPECT_EQ(rig.dns_service->calls, 1);
  EXPECT_EQ(rig.exchanges.starts.size(), 3u);

  // t=30..80: expired. Each cycle still probes the known address and asks for a refresh;
  // each refresh fails, is reported, and the old answer stays in use through the grace.
  rig.auto_locate = lookup_failed();
  rig.run_for(seconds(55));
  EXPECT_EQ(rig.dns_service->calls, 7);
  EXPECT_EQ(rig.sink.location_failures.size(), 6u);
  EXPECT_EQ(rig.exchanges.starts.size(), 9u);
  EXPECT_TRUE(rig.sink.finished.back().result.success);
  EXPECT_EQ(rig.exchanges.closed, 0);

  // t=90 = TTL + grace: the answer is too old. Its address goes, the cycle waits for DNS,
  // and the failed lookup fails the cycle.
  rig.run_for(seconds(10));
  EXPECT_EQ(rig.exchanges.closed, 1);
  EXPECT_EQ(rig.exchanges.starts.size(), 9u);
  EXPECT_EQ(rig.sink.finished.back().result.reason, FailureReason::dns_error);

  // t=100: a good answer brings the address back.
  rig.auto_locate = located({dest("192.0.2.1")}, seconds(30));
  rig.run_for(seconds(10));
  EXPECT_EQ(rig.exchanges.starts.size(), 10u);
  EXPECT_TRUE(rig.sink.finished.back().result.success);
}

TEST(HealthChecker, NoDnsAnswerBeforeTheDeadlineFailsTheCycle) {
  Rig rig;
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(
                        std::vector<TargetConfig>{target(seconds(10), seconds(2))}),
                    false);
  rig.run_for(seconds(2));
  ASSERT_EQ(rig.sink.finished.size(), 1u);
  EXPECT_EQ(rig.sink.finished[0].result.reason, FailureReason::dns_error);
  EXPECT_TRUE(rig.exchanges.starts.empty());
  EXPECT_EQ(rig.sink.finished[0].result.duration, seconds(2));
}

// /probe reports the address that decided the verdict and how long the lookup took.
TEST(HealthChecker, OneShotResultNamesTheDecidingAddressAndTheLookupTime) {
  Rig rig;
  std::map<std::uint32_t, int> code;  // the first address opened fails, the second answers
  rig.exchanges.answer_with = [&](std::uint32_t a) {
    if (!code.contains(a)) code[a] = code.empty() ? 503 : 200;
    return code[a];
  };
  std::optional<ProbeResult> got;
  rig.checker.probe_once(target(), [&](const ProbeResult& r) { got = r; });
  rig.run_for(seconds(0));
  ASSERT_EQ(rig.dns_service->pending.size(), 1u);
  rig.clock.advance(milliseconds(40));
  rig.dns_service->answer(located({dest("192.0.2.1"), dest("2001:db8::2", 5080)}, seconds(30)));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->success);
  ASSERT_TRUE(got->destination.has_value());
  EXPECT_EQ(*got->destination, dest("2001:db8::2", 5080));
  EXPECT_EQ(got->dns_lookup, milliseconds(40));
  EXPECT_EQ(got->duration, milliseconds(40));
}

TEST(HealthChecker, IpLiteralNeedsNoLookupAndReportsNoDnsTime) {
  Rig rig;
  rig.exchanges.answer_with = [](std::uint32_t) { return 200; };
  std::optional<ProbeResult> got;
  rig.checker.probe_once(test_target("sip:192.0.2.1", seconds(10), seconds(5)),
                         [&](const ProbeResult& r) { got = r; });
  rig.run_for(seconds(0));
  rig.clock.advance(milliseconds(1));  // the locator posts even an IP literal's answer
  rig.dns_service->answer(located({dest("192.0.2.1")}));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->dns_lookup, milliseconds(0));
  ASSERT_TRUE(got->destination.has_value());
  EXPECT_EQ(*got->destination, dest("192.0.2.1"));
}

TEST(HealthChecker, LookupThatNeverAnswersCountsAsDnsTimeAndNamesNoAddress) {
  Rig rig;
  std::optional<ProbeResult> got;
  rig.checker.probe_once(target(seconds(10), seconds(2)), [&](const ProbeResult& r) { got = r; });
  rig.run_for(seconds(3));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->reason, FailureReason::dns_error);
  EXPECT_EQ(got->dns_lookup, seconds(2));
  EXPECT_FALSE(got->destination.has_value());
}

TEST(HealthChecker, CycleOnAKnownAnswerSpendsNoDnsTime) {
  Rig rig;
  rig.exchanges.answer_with = [](std::uint32_t) { return 200; };
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(
                        std::vector<TargetConfig>{target(seconds(10))}),
                    false);
  rig.run_for(seconds(0));
  rig.clock.advance(milliseconds(25));
  rig.dns_service->answer(located({dest("192.0.2.1")}, seconds(300)));
  rig.run_for(seconds(15));
  ASSERT_EQ(rig.sink.finished.size(), 2u);
  EXPECT_EQ(rig.sink.finished[0].result.dns_lookup, milliseconds(25));
  EXPECT_EQ(rig.sink.finished[1].result.dns_lookup, milliseconds(0));
  ASSERT_TRUE(rig.sink.finished[1].result.destination.has_value());
  EXPECT_EQ(*rig.sink.finished[1].result.destination, dest("192.0.2.1"));
}

TEST(HealthChecker, ReloadKeepsStateAndScheduleOfAnUnchangedTarget) {
  Rig rig;
  rig.auto_locate = located({dest("192.0.2.1")});
  rig.exchanges.answer_with = [](std::uint32_t) { return 503; };
  TargetConfig t = target();
  t.failures_before_down = 2;
  const TimePoint t0 = rig.clock.now();
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(std::vector{t}), false);
  rig.run_for(seconds(5));  // one failure: down at once (first verdict)
  rig.exchanges.answer_with = [](std::uint32_t) { return 200; };
  TargetConfig other = target();
  other.name = "other";
  rig.checker.reload(
      std::make_shared<const std::vector<TargetConfig>>(std::vector<TargetConfig>{t, other}));
  rig.run_for(seconds(10));
  // "t" kept its slot, its state (down, so this success is a transition) and its schedule.
  const auto it =
      std::find_if(rig.exchanges.starts.begin() + 1, rig.exchanges.starts.end(),
                   [&](const FakeExchanges::Start& s) { return s.at == t0 + seconds(10); });
  EXPECT_NE(it, rig.exchanges.starts.end());
  bool saw_transition = false;
  for (const Finished& f : rig.sink.finished) {
    if (f.target == 0 && f.change.is_transition()) saw_transition = true;
  }
  EXPECT_TRUE(saw_transition);
  EXPECT_EQ(rig.sink.removed.size(), 0u);
}

}  // namespace
}  // namespace stx
