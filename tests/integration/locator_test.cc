// Locator (RFC 3263 over c-ares) against a real dnsmasq on loopback.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dns_server.h"
#include "harness.h"
#include "probes/locator.h"
#include "sip/sip_uri.h"

namespace stx::it {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

DnsZone test_zone() {
  DnsZone z;
  z.ttl = 120;  // SRV and NAPTR records
  z.hosts = {
      {"naptr.example.test", "127.0.0.10", "", 300},
      {"tls.example.test", "127.0.0.11", "", 300},
      {"tcp.example.test", "127.0.0.12", "::1", 200},
      {"udp.example.test", "127.0.0.13", "", 90},
      {"srv.example.test", "127.0.0.20", "", 300},
      {"a.srv.example.test", "127.0.0.21", "", 300},
      {"alias.srv.example.test", "127.0.0.21", "", 300},
      {"b.srv.example.test", "127.0.0.22", "", 300},
      {"c.srv.example.test", "127.0.0.23", "", 300},
      {"dual.example.test", "127.0.0.30", "::1", 300},
      {"v6.example.test", "", "::1", 300},
      {"plain.example.test", "127.0.0.40", "", 42},
  };
  z.naptr = {
      {"naptr.example.test", 10, 10, "s", "SIP+D2T", "", "_sip._tcp.naptr.example.test"},
      {"naptr.example.test", 10, 20, "s", "SIP+D2U", "", "_sip._udp.naptr.example.test"},
      {"naptr.example.test", 5, 50, "s", "SIPS+D2T", "", "_sips._tcp.naptr.example.test"},
      // Not for us: an ENUM-style rule and a transport we do not speak.
      {"naptr.example.test", 1, 1, "u", "E2U+sip", "!^.*$!sip:info@example.test!", ""},
      {"naptr.example.test", 2, 1, "s", "SIP+D2W", "", "_sip._ws.naptr.example.test"},
  };
  z.srv = {
      {"_sips._tcp.naptr.example.test", "tls.example.test", 5061, 0, 0},
      {"_sip._tcp.naptr.example.test", "tcp.example.test", 5062, 0, 0},
      {"_sip._udp.naptr.example.test", "udp.example.test", 5063, 0, 0},
      {"_sip._ws.naptr.example.test", "udp.example.test", 80, 0, 0},
      // No NAPTR for srv.example.test: the three SRV names, in the order tls, tcp, udp.
      {"_sip._udp.srv.example.test", "b.srv.example.test", 5070, 20, 0},
      {"_sip._udp.srv.example.test", "a.srv.example.test", 5070, 10, 0},
      {"_sip._udp.srv.example.test", "alias.srv.example.test", 5070, 30, 0},  // same address
      {"_sip._tcp.srv.example.test", "c.srv.example.test", 5071, 0, 0},
      // One target that does not exist, one that does.
      {"_sip._udp.partial.example.test", "nohost.example.test", 5080, 10, 0},
      {"_sip._udp.partial.example.test", "udp.example.test", 5081, 20, 0},
      {"_sip._udp.broken.example.test", "nohost.example.test", 5080, 10, 0},
  };
  return z;
}

boost::asio::ip::address ip(const char* s) { return boost::asio::ip::make_address(s); }

Destination dest(const char* addr, std::uint16_t port, Transport t = Transport::udp) {
  return {ip(addr), port, t};
}

SipUri uri_of(const std::string& text) {
  std::string error;
  auto uri = parse_sip_uri(text, &error);
  if (!uri) throw std::runtime_error("bad test URI " + text + ": " + error);
  return *uri;
}

class LocatorTest : public ::testing::Test {
 protected:
  DnsSettings settings_for(const std::string& server) {
    DnsSettings s;
    s.servers = {server};
    s.min_ttl = std::chrono::seconds(1);
    s.max_ttl = std::chrono::seconds(3600);
    return s;
  }

  // Runs the io_context until `pred` holds; false at the deadline or when it runs out of work.
  bool run_until(const std::function<bool()>& pred, Clock::duration timeout = 20s) {
    const auto deadline = Clock::now() + timeout;
    while (!pred() && Clock::now() < deadline) {
      io.run_one_for(std::chrono::milliseconds(50));
      if (io.stopped()) {
        if (pred()) return true;
        io.restart();
        if (io.poll() == 0 && io.stopped()) return pred();
      }
    }
    return pred();
  }

  // Runs until nothing is left to do (bounded); true when the io_context ran dry.
  bool drain(Clock::duration timeout = 15s) {
    io.restart();
    io.run_for(timeout);
    return io.stopped();
  }

  LocateResult locate(Locator& locator, const std::string& uri,
                      std::optional<Transport> transport = std::nullopt) {
    int calls = 0;
    std::optional<LocateResult> result;
    locator.locate(uri_of(uri), transport, [&](const LocateResult& r) {
      ++calls;
      result = r;
    });
    EXPECT_EQ(calls, 0) << "Done ran inside locate()";
    EXPECT_TRUE(run_until([&] { return calls > 0; })) << uri << ": no answer";
    io.poll();  // anything wrongly queued behind it
    EXPECT_EQ(calls, 1) << uri;
    return result.value_or(LocateResult{});
  }

  TempDir dir{"stx-locator"};
  boost::asio::io_context io;
};

TEST_F(LocatorTest, NaptrLeadsToSrvThenAddressesInNaptrOrder) {
  DnsServer dns(dir.path(), test_zone());
  Locator locator(io, settings_for(dns.server()));
  const auto r = locate(locator, "sip:naptr.example.test");
  ASSERT_TRUE(r.ok) << r.error << "\n" << dns.log();
  EXPECT_THAT(r.location.destinations, ElementsAre(dest("127.0.0.11", 5061, Transport::tls),
                                                   dest("127.0.0.12", 5062, Transport::tcp),
                                                   dest("::1", 5062, Transport::tcp),
                                                   dest("127.0.0.13", 5063, Transport::udp)));
  EXPECT_TRUE(r.location.from_dns);
  // The smallest TTL of everything used: udp.example.test's A record.
  EXPECT_EQ(r.location.ttl, std::chrono::seconds(90));
  EXPECT_THAT(dns.log(), HasSubstr("query[NAPTR] naptr.example.test"));
  EXPECT_THAT(dns.log(), ::testing::Not(HasSubstr("_sip._ws")));
}

TEST_F(LocatorTest, SrvWithoutNaptrInTlsTcpUdpOrderByPriority) {
  DnsServer dns(dir.path(), test_zone());
  Locator locator(io, settings_for(dns.server()));
  const auto r = locate(locator, "sip:srv.example.test");
  ASSERT_TRUE(r.ok) << r.error << "\n" << dns.log();
  // alias.srv resolves to a.srv's address and port: removed as a duplicate.
  EXPECT_THAT(r.location.destinations,
              ElementsAre(dest("127.0.0.23", 5071, Transport::tcp), dest("127.0.0.21", 5070),
                          dest("127.0.0.22", 5070)));
  EXPECT_EQ(r.location.ttl, std::chrono::seconds(120));
  const auto log = dns.log();
  EXPECT_THAT(log, HasSubstr("query[SRV] _sips._tcp.srv.example.test"));
  EXPECT_LT(log.find("_sips._tcp.srv"), log.find("_sip._udp.srv"));
}

TEST_F(LocatorTest, ExplicitTransportQueriesOnlyItsSrv) {
  DnsServer dns(dir.path(), test_zone());
  Locator locator(io, settings_for(dns.server()));
  const auto tcp = locate(locator, "sip:srv.example.test", Transport::tcp);
  ASSERT_TRUE(tcp.ok) << tcp.error;
  EXPECT_THAT(tcp.location.destinations, ElementsAre(dest("127.0.0.23", 5071, Transport::tcp)));
  EXPECT_THAT(dns.log(), ::testing::Not(HasSubstr("query[NAPTR] srv.example.test")));

  // ;transport= in the URI counts as explicit too.
  const auto udp = locate(locator, "sip:srv.example.test;transport=udp");
  ASSERT_TRUE(udp.ok) << udp.error;
  EXPECT_THAT(udp.location.destinations,
              ElementsAre(dest("127.0.0.21", 5070), dest("127.0.0.22", 5070)));

  // No _sips._tcp record: A/AAAA of the host itself on 5061.
  const auto tls = locate(locator, "sip:srv.example.test", Transport::tls);
  ASSERT_TRUE(tls.ok) << tls.error;
  EXPECT_THAT(tls.location.destinations, ElementsAre(dest("127.0.0.20", 5061, Transport::tls)));
}

TEST_F(LocatorTest, ExplicitPortSkipsNaptrAndSrvAndListsAThenAaaa) {
  DnsServer dns(dir.path(), test_zone());
  Locator locator(io, settings_for(dns.server()));
  const auto dual = locate(locator, "sip:dual.example.test:5080");
  ASSERT_TRUE(dual.ok) << dual.error;
  EXPECT_THAT(dual.location.destinations, ElementsAre(dest("127.0.0.30", 5080), dest("::1", 5080)));

  const auto v6 = locate(locator, "sip:v6.example.test:5090", Transport::tcp);
  ASSERT_TRUE(v6.ok) << v6.error;
  EXPECT_THAT(v6.location.destinations, ElementsAre(dest("::1", 5090, Transport::tcp)));

  // naptr.example.test has NAPTR records; an explicit port ignores them.
  const auto naptr = locate(locator, "sip:naptr.example.test:5099");
  ASSERT_TRUE(naptr.ok) << naptr.error;
  EXPECT_THAT(naptr.location.destinations, ElementsAre(dest("127.0.0.10", 5099)));
  EXPECT_THAT(dns.log(), ::testing::Not(HasSubstr("query[NAPTR]")));
  EXPECT_THAT(dns.log(), ::testing::Not(HasSubstr("query[SRV]")));
}

TEST_F(LocatorTest, NoNaptrNoSrvFallsBackToAOn5060Udp) {
  DnsServer dns(dir.path(), test_zone());
  Locator locator(io, settings_for(dns.server()));
  const auto r = locate(locator, "sip:plain.example.test");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_THAT(r.location.destinations, ElementsAre(dest("127.0.0.40", 5060)));
  EXPECT_EQ(r.location.ttl, std::chrono::seconds(42));
  const auto log = dns.log();
  for (const char* q : {"query[NAPTR] plain.example.test", "query[SRV] _sips._tcp.plain",
                        "query[SRV] _sip._tcp.plain", "query[SRV] _sip._udp.plain",
                        "query[A] plain.example.test", "query[AAAA] plain.example.test"}) {
    EXPECT_THAT(log, HasSubstr(q));
  }
}

TEST_F(LocatorTest, IpLiteralsNeedNoDnsAndAnswerLater) {
  // No server at all: a query would fail.
  Locator locator(io, settings_for("127.0.0.1:9"));
  const auto v4 = locate(locator, "sip:127.0.0.1");
  ASSERT_TRUE(v4.ok) << v4.error;
  EXPECT_THAT(v4.location.destinations, ElementsAre(dest("127.0.0.1", 5060)));
  EXPECT_FALSE(v4.location.from_dns);
  EXPECT_EQ(v4.location.ttl, std::chrono::seconds(0));

  const auto v6 = locate(locator, "sips:[::1]");
  ASSERT_TRUE(v6.ok) << v6.error;
  EXPECT_THAT(v6.location.destinations, ElementsAre(dest("::1", 5061, Transport::tls)));

  const auto tcp = locate(locator, "sip:127.0.0.2:5070;transport=tcp");
  EXPECT_THAT(tcp.location.destinations, ElementsAre(dest("127.0.0.2", 5070, Transport::tcp)));
  const auto forced = locate(locator, "sip:127.0.0.2", Transport::tls);
  EXPECT_THAT(forced.location.destinations, ElementsAre(dest("127.0.0.2", 5061, Transport::tls)));
}

TEST_F(LocatorTest, LocalhostComesFromTheHostsFileWithoutAQuery) {
  // 127.0.0.1:9 answers nothing: any query would fail the locate.
  Locator locator(io, settings_for("127.0.0.1:9"));
  const auto r = locate(locator, "sip:localhost:5070");
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_FALSE(r.location.destinations.empty());
  EXPECT_EQ(r.location.destinations.front(), dest("127.0.0.1", 5070));
  for (const Destination& d : r.location.destinations) EXPECT_TRUE(d.address.is_loopback());
  EXPECT_TRUE(r.location.from_dns);  // read again later: the file may change
  EXPECT_GT(r.location.ttl.count(), 0);
  // Without a port no NAPTR/SRV is asked either: the hosts file is a static mapping.
  const auto bare = locate(locator, "sip:localhost");
  ASSERT_TRUE(bare.ok) << bare.error;
  EXPECT_EQ(bare.location.destinations.front(), dest("127.0.0.1", 5060));
}

TEST_F(LocatorTest, MissingNamesGiveTheMostSpecificError) {
  DnsServer dns(dir.path(), test_zone());
  Locator locator(io, settings_for(dns.server()));
  const auto missing = locate(locator, "sip:missing.example.test");
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.error, "A missing.example.test: NXDOMAIN");
  EXPECT_TRUE(missing.location.destinations.empty());

  const auto with_port = locate(locator, "sip:missing.example.test:5060", Transport::tcp);
  EXPECT_EQ(with_port.error, "A missing.example.test: NXDOMAIN");

  // The SRV record exists, its only target does not.
  const auto broken = locate(locator, "sip:broken.example.test");
  EXPECT_FALSE(broken.ok);
  EXPECT_EQ(broken.error, "A nohost.example.test: NXDOMAIN");

  // One target missing is fine when another resolves.
  const auto partial = locate(locator, "sip:partial.example.test");
  ASSERT_TRUE(partial.ok) << partial.error;
  EXPECT_THAT(partial.location.destinations, ElementsAre(dest("127.0.0.13", 5081)));
}

TEST_F(LocatorTest, TtlIsClampedToSettings) {
  DnsServer dns(dir.path(), test_zone());
  auto low = settings_for(dns.server());
  low.min_ttl = std::chrono::seconds(50);
  Locator raised(io, low);
  EXPECT_EQ(locate(raised, "sip:plain.example.test").location.ttl, std::chrono::seconds(50));

  auto high = settings_for(dns.server());
  high.max_ttl = std::chrono::seconds(30);
  Locator capped(io, high);
  EXPECT_EQ(locate(capped, "sip:plain.example.test").location.ttl, std::chrono::seconds(30));
  EXPECT_EQ(locate(capped, "sip:naptr.example.test").location.ttl, std::chrono::seconds(30));
}

TEST_F(LocatorTest, StoppedServerFailsPromptlyAndRecoversAfterRestart) {
  DnsServer dns(dir.path(), test_zone());
  Locator locator(io, settings_for(dns.server()));
  ASSERT_TRUE(locate(locator, "sip:plain.example.test").ok);

  dns.stop();
  const auto start = Clock::now();
  const auto down = locate(locator, "sip:plain.example.test");
  EXPECT_FALSE(down.ok);
  // Loopback answers with ICMP port unreachable, which ends the query before any timeout.
  EXPECT_EQ(down.error, "NAPTR plain.example.test: connection refused");
  EXPECT_LT(Clock::now() - start, 15s);

  dns.restart();
  const auto up = locate(locator, "sip:plain.example.test");
  ASSERT_TRUE(up.ok) << up.error;
  EXPECT_THAT(up.location.destinations, ElementsAre(dest("127.0.0.40", 5060)));
}

TEST_F(LocatorTest, SilentServerTimesOut) {
  UdpSocket silent;  // bound, never answers
  Locator locator(io, settings_for("127.0.0.1:" + std::to_string(silent.port())));
  const auto start = Clock::now();
  const auto r = locate(locator, "sip:plain.example.test:5060");
  EXPECT_FALSE(r.ok);
  // A and AAAA run together; both time out, the first asked is reported.
  EXPECT_EQ(r.error, "A plain.example.test: timeout");
  EXPECT_LT(Clock::now() - start, 20s);
  EXPECT_TRUE(silent.receive(Clock::now() + 1s).has_value()) << "no query reached the server";
}

TEST_F(LocatorTest, LargeAnswerFallsBackToTcp) {
  DnsZone zone = test_zone();
  std::vector<Destination> expected;
  for (int i = 1; i <= 40; ++i) {
    const std::string host = "target-number-" + std::to_string(i) + ".big.example.test";
    const std::string addr = "127.0.1." + std::to_string(i);
    zone.hosts.push_back({host, addr, "", 300});
    zone.srv.push_back(
        {"_sip._udp.big.example.test", host, 5060, static_cast<std::uint16_t>(i), 0});
    expected.push_back({ip(addr.c_str()), 5060, Transport::udp});
  }
  DnsServer dns(dir.path(), zone);
  Locator locator(io, settings_for(dns.server()));
  const auto r = locate(locator, "sip:big.example.test", Transport::udp);
  ASSERT_TRUE(r.ok) << r.error << "\n" << dns.log();
  EXPECT_EQ(r.location.destinations, expected);
  // Asked twice: over UDP (answer truncated, 40 records do not fit in 512 bytes), then TCP.
  const auto log = dns.log();
  const std::string query = "query[SRV] _sip._udp.big.example.test";
  EXPECT_NE(log.find(query, log.find(query) + 1), std::string::npos) << log;
}

TEST_F(LocatorTest, CancelAllDropsPendingCallbacks) {
  DnsServer dns(dir.path(), test_zone());
  Locator locator(io, settings_for(dns.server()));
  int calls = 0;
  auto count = [&](const LocateResult&) { ++calls; };
  for (int i = 0; i < 50; ++i) locator.locate(uri_of("sip:naptr.example.test"), {}, count);
  locator.locate(uri_of("sip:127.0.0.1"), {}, count);  // already posted
  ASSERT_TRUE(run_until([&] { return calls > 0; }));
  locator.cancel_all();
  const int at_cancel = calls;
  EXPECT_LT(at_cancel, 51);
  EXPECT_TRUE(drain()) << "work left after cancel_all()";
  EXPECT_EQ(calls, at_cancel);

  // Still usable afterwards.
  const auto r = locate(locator, "sip:plain.example.test");
  EXPECT_TRUE(r.ok) << r.error;
}

TEST_F(LocatorTest, CancelAllBeforeAnyRunDropsEverything) {
  UdpSocket silent;
  Locator locator(io, settings_for("127.0.0.1:" + std::to_string(silent.port())));
  int calls = 0;
  for (const char* u : {"sip:plain.example.test", "sip:127.0.0.1", "sip:x.example.test:5060"}) {
    locator.locate(uri_of(u), {}, [&](const LocateResult&) { ++calls; });
  }
  locator.cancel_all();
  EXPECT_TRUE(drain());
  EXPECT_EQ(calls, 0);
}

TEST_F(LocatorTest, DestructionWithLookupsPendingIsSilent) {
  DnsServer dns(dir.path(), test_zone());
  auto locator = std::make_unique<Locator>(io, settings_for(dns.server()));
  int calls = 0;
  auto count = [&](const LocateResult&) { ++calls; };
  for (int i = 0; i < 50; ++i) locator->locate(uri_of("sip:naptr.example.test"), {}, count);
  ASSERT_TRUE(run_until([&] { return calls > 0; }));
  locator.reset();
  const int at_reset = calls;
  EXPECT_TRUE(drain());
  EXPECT_EQ(calls, at_reset);

  // Against a silent server nothing has answered yet when it goes.
  UdpSocket silent;
  locator =
      std::make_unique<Locator>(io, settings_for("127.0.0.1:" + std::to_string(silent.port())));
  calls = 0;
  locator->locate(uri_of("sip:plain.example.test"), {}, count);
  locator->locate(uri_of("sip:127.0.0.1"), {}, count);
  io.restart();
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(silent.receive(Clock::now() + 5s).has_value());
  locator.reset();
  EXPECT_TRUE(drain());
  EXPECT_EQ(calls, 1);  // the literal answered during run_for; the DNS lookup never does
}

TEST_F(LocatorTest, DoneMayDestroyTheLocator) {
  DnsServer dns(dir.path(), test_zone());
  auto locator = std::make_unique<Locator>(io, settings_for(dns.server()));
  int calls = 0;
  for (int i = 0; i < 10; ++i) {
    locator->locate(uri_of("sip:srv.example.test"), {}, [&](const LocateResult& r) {
      ++calls;
      EXPECT_TRUE(r.ok) << r.error;
      locator.reset();
    });
  }
  ASSERT_TRUE(run_until([&] { return calls > 0; }));
  EXPECT_TRUE(drain());
  EXPECT_EQ(calls, 1);
}

TEST_F(LocatorTest, TwoHundredConcurrentLocatesAllAnswered) {
  DnsServer dns(dir.path(), test_zone());
  Locator locator(io, settings_for(dns.server()));
  struct Case {
    std::string uri;
    std::vector<Destination> want;
  };
  const std::vector<Case> cases = {
      {"sip:naptr.example.test",
       {dest("127.0.0.11", 5061, Transport::tls), dest("127.0.0.12", 5062, Transport::tcp),
        dest("::1", 5062, Transport::tcp), dest("127.0.0.13", 5063)}},
      {"sip:plain.example.test", {dest("127.0.0.40", 5060)}},
      {"sip:dual.example.test:5080", {dest("127.0.0.30", 5080), dest("::1", 5080)}},
      {"sip:127.0.0.9", {dest("127.0.0.9", 5060)}},
  };
  std::vector<int> calls(200, 0);
  std::vector<LocateResult> results(200);
  for (int i = 0; i < 200; ++i) {
    locator.locate(uri_of(cases[i % cases.size()].uri), {}, [&, i](const LocateResult& r) {
      ++calls[i];
      results[i] = r;
    });
  }
  const bool all = run_until(
      [&] { return std::all_of(calls.begin(), calls.end(), [](int c) { return c > 0; }); }, 30s);
  ASSERT_TRUE(all) << std::count(calls.begin(), calls.end(), 0) << " unanswered";
  EXPECT_TRUE(drain());
  // Each query asked once: no answer was lost and retransmitted (a burst of answers can
  // overflow a UDP receive buffer).
  std::size_t queries = 0;
  for (const auto& line : split_lines(dns.log())) {
    queries +=
        line.find("query[") != std::string::npos && line.find("query[SOA]") == std::string::npos;
  }
  // Per 4 locates: naptr 1 NAPTR + 3 SRV + 3x(A, AAAA); plain 1 + 3 + 2; dual 2; literal 0.
  EXPECT_EQ(queries, 50u * (10 + 6 + 2));
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(calls[i], 1) << i;
    ASSERT_TRUE(results[i].ok) << i << ": " << results[i].error;
    EXPECT_EQ(results[i].location.destinations, cases[i % cases.size()].want) << i;
  }
}

}  // namespace
}  // namespace stx::it
