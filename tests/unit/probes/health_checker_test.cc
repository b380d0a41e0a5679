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
  void open(std::uint32_t address, std::uint32_t, const ProbeTarget& t,
            const Destination& d) override {
    open_addresses[address] = d;
    targets[address] = &t;
  }
  void close(std::uint32_t address) override {
    open_addresses.erase(address);
    targets.erase(address);  // the checker may free it now
    ++closed;
  }
  void start(std::uint32_t address, TimePoint now, TimePoint deadline) override {
    starts.push_back({address, now, deadline});
    if (answer_with) finish(address, answer_with(address), now);
  }
  void expire(std::uint32_t address, TimePoint now) override {
    expired.push_back({address, now, now});
    ProbeResult r;
    r.destination = open_addresses.at(address);  // as the real exchanges report it
    r.reason = FailureReason::timeout;
    r.detail = "no final response";
    listener->exchange_finished(address, r, now);
  }
  TimePoint busy_until(std::uint32_t) const override { return busy; }
  const Destination& destination(std::uint32_t address) const override {
    return open_addresses.at(address);
  }

  // What the exchanges decide with the default healthy_codes (2xx) and degraded_codes
  // (503); `code` 0 is a timeout. `retry_after` is the answer's Retry-After.
  void finish(std::uint32_t address, int code, TimePoint now) {
    ProbeResult r;
    r.destination = open_addresses.at(address);
    r.status_code = code;
    r.success = code >= 200 && code < 300;
    r.degraded = code == 503 && degraded_503;
    r.reason = code == 0 ? FailureReason::timeout : FailureReason::none;
    r.retry_after = retry_after;
    listener->exchange_finished(address, r, now);
  }

  struct Start {
    std::uint32_t address;
    TimePoint at;
    TimePoint deadline;
  };
  ExchangeListener* listener = nullptr;
  std::function<int(std::uint32_t address)> answer_with;  // a final code at once; unset: none
  bool degraded_503 = false;
  std::optional<std::uint32_t> retry_after;
  std::map<std::uint32_t, Destination> open_addresses;
  std::map<std::uint32_t, const ProbeTarget*> targets;  // as open() gave them, until close()
  std::vector<Start> starts;
  std::vector<Start> expired;
  int closed = 0;
  TimePoint busy{};  // what busy_until() says of every address
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

  // Two addresses: the first one opened answers `first`, the other `second` (0: timeout).
  void two_addresses_answering(int first, int second) {
    auto_locate = located({dest("192.0.2.1"), dest("192.0.2.2")});
    exchanges.answer_with = [this, first, second](std::uint32_t a) {
      if (!first_address) first_address = a;
      return a == *first_address ? first : second;
    };
  }

  // A one-shot probe of an IP literal that answers 200 at once; its result, if it came.
  std::optional<ProbeResult> probe_literal_once() {
    exchanges.answer_with = [](std::uint32_t) { return 200; };
    checker.probe_once(test_target("sip:192.0.2.1", seconds(10), seconds(5)),
                       [this](const ProbeResult& r) { one_shot = r; });
    auto_locate = located({dest("192.0.2.1")});
    run_for(milliseconds(1));
    return one_shot;
  }
  std::optional<ProbeResult> one_shot;

  void start(const TargetConfig& t) {
    checker.start(std::make_shared<const std::vector<TargetConfig>>(std::vector{t}), false);
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
  std::optional<std::uint32_t> first_address;
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
  t.shared.edit().failures_before_down = 3;
  t.shared.edit().successes_before_up = 2;
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
  rig.two_addresses_answering(503, 200);  // the first address opened fails, the second answers
  rig.start(target());
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
  rig.two_addresses_answering(200, 503);  // the first address opened answers, the second fails
  TargetConfig t = target();
  t.shared.edit().up_when = UpWhen::all;
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

// A refreshed answer that arrives while a cycle is running waits: the running cycle keeps
// its addresses, and the next one starts on the new answer.
TEST(HealthChecker, ARefreshThatAnswersDuringACycleIsAppliedAtTheNextOne) {
  DnsSettings dns;
  dns.grace = seconds(60);
  Rig rig(dns);  // no answers: each exchange runs to its 5 s timeout
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(
                        std::vector<TargetConfig>{target(seconds(10), seconds(5))}),
                    false);
  rig.run_for(seconds(0));
  rig.dns_service->answer(located({dest("192.0.2.1")}, seconds(30)));
  rig.run_for(seconds(30));  // t=30: the answer expired; the cycle probes it and asks again
  ASSERT_EQ(rig.dns_service->calls, 2);
  ASSERT_EQ(rig.exchanges.starts.size(), 4u);
  const std::uint32_t old_address = rig.exchanges.starts.back().address;
  rig.dns_service->answer(located({dest("192.0.2.9")}, seconds(30)));
  rig.run_for(seconds(9));  // t=39: that cycle ended on the old address, which is still open
  EXPECT_EQ(rig.exchanges.closed, 0);
  EXPECT_EQ(rig.exchanges.expired.size(), 4u);
  EXPECT_EQ(rig.exchanges.open_addresses.at(old_address), dest("192.0.2.1"));
  rig.run_for(seconds(1));  // t=40: the next cycle starts on the new answer
  ASSERT_EQ(rig.exchanges.starts.size(), 5u);
  EXPECT_EQ(rig.exchanges.closed, 1);
  EXPECT_EQ(rig.exchanges.open_addresses.at(rig.exchanges.starts.back().address),
            dest("192.0.2.9"));
  EXPECT_EQ(rig.dns_service->calls, 2) << "the new answer is fresh";
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

// The first address answers while the second is still out: the cycle reports the first
// from its own copy, since the exchange's buffers are reused before the cycle ends.
TEST(HealthChecker, ACycleReportsAnAddressThatFinishedEarlyFromItsOwnCopy) {
  Rig rig;
  rig.auto_locate = located({dest("192.0.2.1"), dest("192.0.2.2")});
  rig.start(target());
  rig.run_for(milliseconds(1));
  ASSERT_EQ(rig.exchanges.starts.size(), 2u);
  const std::uint32_t first = rig.exchanges.starts[0].address;
  const std::uint32_t second = rig.exchanges.starts[1].address;
  {
    std::string server = "carrier-sbc/1.0";
    ProbeResult r;
    r.destination = rig.exchanges.open_addresses.at(first);
    r.status_code = 200;
    r.success = true;
    r.server = server;
    rig.exchanges.listener->exchange_finished(first, r, rig.clock.now());
    server.assign(server.size(), 'x');  // the buffer is reused
  }
  EXPECT_TRUE(rig.sink.finished.empty()) << "the cycle waits for the second address";
  rig.exchanges.finish(second, 0, rig.clock.now());
  ASSERT_EQ(rig.sink.finished.size(), 1u);
  const Finished& f = rig.sink.finished[0];
  EXPECT_TRUE(f.result.success);
  EXPECT_EQ(f.result.status_code, 200);
  EXPECT_EQ(f.server, "carrier-sbc/1.0");
  ASSERT_TRUE(f.result.destination.has_value());
  EXPECT_EQ(*f.result.destination, rig.exchanges.open_addresses.at(first));
}

// A test call's BYE may still be resent after the result: /probe must not cut it off.
TEST(HealthChecker, OneShotClosesItsAddressOnlyWhenTheExchangesHaveNoWorkLeft) {
  Rig rig;
  rig.exchanges.busy = rig.clock.now() + seconds(32);
  const std::optional<ProbeResult> got = rig.probe_literal_once();
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->success);
  rig.run_for(seconds(31));
  EXPECT_EQ(rig.exchanges.closed, 0);
  EXPECT_EQ(rig.exchanges.open_addresses.size(), 1u);
  rig.run_for(seconds(1));
  EXPECT_EQ(rig.exchanges.closed, 1);
  EXPECT_TRUE(rig.exchanges.open_addresses.empty());
  EXPECT_EQ(rig.exchanges.starts.size(), 1u);  // waiting is not probing again
}

TEST(HealthChecker, OneShotWithoutWorkLeftClosesAtOnce) {
  Rig rig;
  ASSERT_TRUE(rig.probe_literal_once().has_value());
  EXPECT_EQ(rig.exchanges.closed, 1);
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
  t.shared.edit().failures_before_down = 2;
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

TEST(HealthChecker, WhatTheExchangesSeeFollowsAReloadedConfiguration) {
  Rig rig;
  rig.auto_locate = located({dest("192.0.2.1")});
  auto config = [](const std::string& ruri_user) {
    TargetConfig t = target();
    t.shared.edit().from = "sip:alice@pbx.example";
    t.shared.edit().ruri_user = ruri_user;
    return std::make_shared<const std::vector<TargetConfig>>(std::vector{t});
  };
  auto first = config("");
  const std::weak_ptr<const std::vector<TargetConfig>> old = first;
  rig.checker.start(first, false);
  first.reset();
  rig.run_for(seconds(1));
  ASSERT_EQ(rig.exchanges.targets.size(), 1u);
  const ProbeTarget& t = *rig.exchanges.targets.begin()->second;
  EXPECT_EQ(t.from_user(), "alice");
  EXPECT_EQ(t.request_uri(), "sip:trunk.example");
  EXPECT_EQ(t.own_request_uri, nullptr);  // the configuration's URI, not a copy

  // An equal configuration from a new file: the old one is freed, nothing points into it.
  auto next = config("");
  const TargetConfig* next_cfg = &next->front();
  rig.checker.reload(next);
  EXPECT_EQ(t.cfg.get(), next_cfg);
  // The sink hears of the new copy too, so that what it keeps does not hold the old list.
  ASSERT_EQ(rig.sink.kept.size(), 1u);
  EXPECT_EQ(rig.sink.kept[0].first, 0u);
  EXPECT_EQ(rig.sink.kept[0].second.get(), next_cfg);
  EXPECT_TRUE(old.expired());
  EXPECT_EQ(t.from_user(), "alice");
  EXPECT_GE(t.from_user().data(), next_cfg->shared->from.data());
  EXPECT_LT(t.from_user().data(), next_cfg->shared->from.data() + next_cfg->shared->from.size());

  // A changed one is a new target, with the prober's own Request-URI.
  rig.checker.reload(config("+15550100"));
  rig.run_for(seconds(10));
  ASSERT_EQ(rig.exchanges.targets.size(), 1u);
  const ProbeTarget& changed = *rig.exchanges.targets.begin()->second;
  EXPECT_EQ(changed.request_uri(), "sip:+15550100@trunk.example");
}

// The gaps between consecutive probe starts, in whole milliseconds.
std::vector<std::int64_t> gaps(const std::vector<FakeExchanges::Start>& starts) {
  std::vector<std::int64_t> g;
  for (std::size_t i = 1; i < starts.size(); ++i) {
    g.push_back(std::chrono::duration_cast<milliseconds>(starts[i].at - starts[i - 1].at).count());
  }
  return g;
}

TEST(HealthChecker, FastIntervalWhileAChangeIsPendingAndDownIntervalWhileDown) {
  Rig rig;
  rig.auto_locate = located({dest("192.0.2.1")});
  TargetConfig t = target(seconds(15), seconds(1));
  t.shared.edit().fast_interval = seconds(2);
  t.shared.edit().down_interval = seconds(30);
  t.shared.edit().failures_before_down = 3;
  t.shared.edit().successes_before_up = 2;
  // up, up, fail, fail, fail (down), fail, ok, ok (up), up
  const std::vector<int> script = {200, 200, 0, 0, 0, 0, 200, 200, 200, 200};
  std::size_t next = 0;
  rig.exchanges.answer_with = [&](std::uint32_t) {
    return next < script.size() ? script[next++] : 200;
  };
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(std::vector{t}), false);
  rig.run_for(seconds(200));
  ASSERT_GE(rig.exchanges.starts.size(), script.size());
  const std::vector<std::int64_t> want = {15000,  // up -> up: interval
                                          15000,  // up -> first failure: the next is fast
                                          2000,   // second failure
                                          2000,   // third: down, so the next is at down_interval
                                          30000,  // still down
                                          30000,  // a success while down: pending again, fast
                                          2000,   // the second success: up, back to the interval
                                          15000, 15000};
  std::vector<std::int64_t> got = gaps(rig.exchanges.starts);
  got.resize(want.size());
  EXPECT_EQ(got, want);
  using enum Health;
  const std::vector<Health> health = {up, up, up, up, down, down, down, up};
  std::vector<Health> h = rig.healths();
  h.resize(health.size());
  EXPECT_EQ(h, health);
}

TEST(HealthChecker, FastIntervalShorterThanTheTimeoutStartsWhenTheLastProbeEnds) {
  Rig rig;
  rig.auto_locate = located({dest("192.0.2.1")});
  TargetConfig t = target(seconds(15), seconds(4));
  t.shared.edit().fast_interval = seconds(1);
  rig.exchanges.answer_with = [](std::uint32_t) { return 200; };
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(std::vector{t}), false);
  rig.run_for(seconds(1));              // up
  rig.exchanges.answer_with = nullptr;  // silent: each probe runs to its 4 s deadline
  rig.run_for(seconds(40));
  // Probes at 15, 19 and 23 s, each starting as the last timed out; down at 27 s, and then
  // the down interval (here the interval) from the last planned start.
  const std::vector<std::int64_t> want = {15000, 4000, 4000, 15000};
  EXPECT_EQ(gaps(rig.exchanges.starts), want);
  EXPECT_EQ(rig.sink.finished[3].state.health, Health::down);
}

TEST(HealthChecker, IntervalJitterStaysWithinItsBoundsAndIsNotConstant) {
  for (const bool percent : {true, false}) {
    Rig rig;
    rig.auto_locate = located({dest("192.0.2.1")});
    rig.exchanges.answer_with = [](std::uint32_t) { return 200; };
    TargetConfig t = target(seconds(10), seconds(1));
    if (percent) {
      t.shared.edit().interval_jitter.percent = 20;  // up to 2 s
    } else {
      t.shared.edit().interval_jitter.max = seconds(2);
    }
    rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(std::vector{t}), false);
    rig.run_for(std::chrono::hours(1));
    const std::vector<std::int64_t> g = gaps(rig.exchanges.starts);
    ASSERT_GT(g.size(), 250u);
    const auto [lo, hi] = std::minmax_element(g.begin(), g.end());
    EXPECT_GE(*lo, 10000);
    EXPECT_LE(*hi, 12000);
    EXPECT_GT(*hi - *lo, 1500) << "the jitter spreads over its range";
  }
}

TEST(HealthChecker, DegradedAnswersLeaveUpByTheThresholdAndNameTheState) {
  Rig rig;
  rig.auto_locate = located({dest("192.0.2.1")});
  rig.exchanges.degraded_503 = true;
  TargetConfig t = target(seconds(10), seconds(2));
  t.shared.edit().failures_before_down = 2;
  // up, 503 (still up), 503 (degraded), timeout (down), 503 (degraded), 200 (up)
  const std::vector<int> script = {200, 503, 503, 0, 503, 200};
  std::size_t next = 0;
  rig.exchanges.answer_with = [&](std::uint32_t) { return script[next++]; };
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(std::vector{t}), false);
  rig.run_for(seconds(10) * script.size() - milliseconds(1));
  using enum Health;
  const std::vector<Health> want = {up, up, degraded, down, degraded, up};
  EXPECT_EQ(rig.healths(), want);
  EXPECT_TRUE(rig.sink.finished[2].result.degraded);
  EXPECT_TRUE(rig.sink.finished[2].change.is_transition()) << "up -> degraded leaves up";
  EXPECT_FALSE(rig.sink.finished[3].change.is_transition()) << "degraded -> down is one outage";
  EXPECT_TRUE(rig.sink.finished[3].change.changed());
  EXPECT_EQ(rig.sink.address_results[2].state.health, degraded) << "addresses too";
}

TEST(HealthChecker, AnyAddressAnsweringDegradedMakesAFailedCycleDegraded) {
  Rig rig;
  rig.exchanges.degraded_503 = true;
  rig.two_addresses_answering(0, 503);  // the first address times out, the second answers 503
  rig.start(target());
  rig.run_for(seconds(1));
  ASSERT_EQ(rig.sink.finished.size(), 1u);
  EXPECT_EQ(rig.sink.finished[0].state.health, Health::degraded);
  EXPECT_EQ(rig.sink.finished[0].result.status_code, 503) << "the degraded answer is reported";
}

TEST(HealthChecker, RetryAfterPausesProbesToThatAddressAndIsCappedAtAnHour) {
  Rig rig;
  rig.auto_locate = located({dest("192.0.2.1")});
  rig.exchanges.degraded_503 = true;
  rig.exchanges.retry_after = 25;
  rig.exchanges.answer_with = [](std::uint32_t) { return 503; };
  TargetConfig t = target(seconds(10), seconds(2));
  t.shared.edit().down_interval = seconds(10);
  const TimePoint t0 = rig.clock.now();
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(std::vector{t}), false);
  rig.run_for(seconds(24));
  ASSERT_EQ(rig.exchanges.starts.size(), 1u) << "no probe inside the 25 s pause";
  ASSERT_EQ(rig.sink.pauses.size(), 1u);
  EXPECT_EQ(rig.sink.pauses[0].pause, seconds(25));
  EXPECT_EQ(rig.sink.started, 1) << "a skipped cycle is not a probe";
  EXPECT_EQ(rig.sink.finished.size(), 1u) << "nor a verdict";

  // The pause ends at 25 s: the next probe goes then, and its answer lifts the pause.
  rig.exchanges.retry_after.reset();
  rig.exchanges.answer_with = [](std::uint32_t) { return 200; };
  rig.run_for(seconds(2));
  ASSERT_EQ(rig.exchanges.starts.size(), 2u);
  EXPECT_EQ(rig.exchanges.starts[1].at, t0 + seconds(25));
  ASSERT_EQ(rig.sink.pauses.size(), 2u);
  EXPECT_EQ(rig.sink.pauses[1].pause, seconds(0));
  EXPECT_EQ(rig.sink.finished.back().state.health, Health::up);

  // A day's Retry-After pauses for an hour, not a day.
  rig.exchanges.retry_after = 86400;
  rig.exchanges.answer_with = [](std::uint32_t) { return 503; };
  rig.run_for(seconds(10));
  ASSERT_EQ(rig.exchanges.starts.size(), 3u);
  const TimePoint paused_at = rig.exchanges.starts[2].at;
  EXPECT_EQ(rig.sink.pauses.back().pause, seconds(3600));
  rig.exchanges.retry_after.reset();
  rig.run_for(seconds(3600));
  ASSERT_EQ(rig.exchanges.starts.size(), 4u);
  EXPECT_EQ(rig.exchanges.starts[3].at, paused_at + seconds(3600));
}

TEST(HealthChecker, RetryAfterOnOneAddressStillProbesTheOthers) {
  Rig rig;
  rig.exchanges.degraded_503 = true;
  rig.exchanges.retry_after = 60;
  rig.two_addresses_answering(503,
                              200);  // the first address answers 503 Retry-After, the other 200
  rig.start(target());
  rig.run_for(seconds(35));  // cycles at 0, 10, 20, 30
  std::map<std::uint32_t, int> probes;
  for (const auto& start : rig.exchanges.starts) ++probes[start.address];
  ASSERT_EQ(probes.size(), 2u);
  EXPECT_EQ(probes.begin()->second, 1) << "the paused address";
  EXPECT_EQ(std::next(probes.begin())->second, 4);
  EXPECT_EQ(rig.sink.finished.back().state.health, Health::up);
}

TEST(HealthChecker, ReloadKeepsAPendingChangeAndItsFastInterval) {
  Rig rig;
  rig.auto_locate = located({dest("192.0.2.1")});
  TargetConfig t = target(seconds(15), seconds(1));
  t.shared.edit().fast_interval = seconds(2);
  rig.exchanges.answer_with = [](std::uint32_t) { return 200; };
  rig.checker.start(std::make_shared<const std::vector<TargetConfig>>(std::vector{t}), false);
  rig.run_for(seconds(1));  // up
  rig.exchanges.answer_with = [](std::uint32_t) { return 0; };
  rig.run_for(seconds(15));  // one failure at 15 s
  ASSERT_EQ(rig.sink.finished.back().state.consecutive_failures, 1);
  rig.checker.reload(std::make_shared<const std::vector<TargetConfig>>(std::vector{t}));
  rig.run_for(seconds(5));  // fast: 17, 19 and down there (third failure)
  ASSERT_EQ(rig.sink.finished.size(), 4u);
  EXPECT_EQ(rig.sink.finished.back().state.health, Health::down);
  EXPECT_EQ(rig.sink.removed.size(), 0u);
}

}  // namespace
}  // namespace stx
