#include "probes/rfc3263.h"

#include <boost/asio/io_context.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace stx {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;

NaptrRecord naptr(std::uint16_t order, std::uint16_t pref, std::string flags, std::string service,
                  std::string replacement) {
  return {order, pref, std::move(flags), std::move(service), "", std::move(replacement)};
}

SrvRecord srv(std::uint16_t priority, std::uint16_t weight, std::string target) {
  return {priority, weight, 5060, std::move(target)};
}

std::vector<std::string> targets(const std::vector<SrvRecord>& records) {
  std::vector<std::string> out;
  out.reserve(records.size());
  for (const auto& r : records) out.push_back(r.target);
  return out;
}

TEST(Rfc3263, NaptrServicesMapToTransports) {
  EXPECT_EQ(naptr_transport("SIPS+D2T"), Transport::tls);
  EXPECT_EQ(naptr_transport("SIP+D2T"), Transport::tcp);
  EXPECT_EQ(naptr_transport("SIP+D2U"), Transport::udp);
  EXPECT_EQ(naptr_transport("sip+d2u"), Transport::udp);
  EXPECT_EQ(naptr_transport("SIP+D2S"), std::nullopt);  // SCTP
  EXPECT_EQ(naptr_transport("SIPS+D2U"), std::nullopt);
  EXPECT_EQ(naptr_transport("E2U+sip"), std::nullopt);
  EXPECT_EQ(naptr_transport(""), std::nullopt);
}

TEST(Rfc3263, NaptrKeepsSipRecordsWithFlagSByOrderThenPreference) {
  const std::vector<NaptrRecord> records = {
      naptr(20, 10, "s", "SIP+D2U", "_sip._udp.b"),
      naptr(10, 50, "s", "SIP+D2T", "_sip._tcp.a"),
      naptr(10, 5, "S", "SIPS+D2T", "_sips._tcp.a"),  // flags are case-insensitive
      naptr(1, 1, "u", "E2U+sip", ""),                // not a SIP service, wrong flag
      naptr(2, 1, "a", "SIP+D2U", "a.example"),       // flag a: not followed to SRV
      naptr(3, 1, "s", "SIP+D2S", "_sip._sctp.a"),    // a transport we do not speak
      naptr(4, 1, "s", "SIP+D2U", ""),                // no replacement
      naptr(5, 1, "s", "SIP+D2U", "."),
  };
  EXPECT_THAT(order_naptr(records), ElementsAre(NaptrChoice{Transport::tls, "_sips._tcp.a"},
                                                NaptrChoice{Transport::tcp, "_sip._tcp.a"},
                                                NaptrChoice{Transport::udp, "_sip._udp.b"}));
}

TEST(Rfc3263, NaptrTiesKeepAnswerOrderAndRepeatsGo) {
  const std::vector<NaptrRecord> records = {
      naptr(10, 10, "s", "SIP+D2U", "_sip._udp.x"), naptr(10, 10, "s", "SIP+D2T", "_sip._tcp.x"),
      naptr(10, 20, "s", "SIP+D2U", "_sip._udp.x"),  // repeat of the first choice
  };
  EXPECT_THAT(order_naptr(records), ElementsAre(NaptrChoice{Transport::udp, "_sip._udp.x"},
                                                NaptrChoice{Transport::tcp, "_sip._tcp.x"}));
  EXPECT_TRUE(order_naptr({}).empty());
}

TEST(Rfc3263, SrvPriorityAscendingAndNothingLost) {
  std::mt19937_64 rng(1);
  const std::vector<SrvRecord> records = {srv(30, 5, "c1"),  srv(10, 0, "a1"), srv(20, 50, "b1"),
                                          srv(10, 60, "a2"), srv(30, 5, "c2"), srv(20, 50, "b2")};
  for (int round = 0; round < 200; ++round) {
    const auto ordered = order_srv(records, rng);
    ASSERT_THAT(ordered, UnorderedElementsAreArray(records));
    for (std::size_t i = 1; i < ordered.size(); ++i) {
      ASSERT_LE(ordered[i - 1].priority, ordered[i].priority) << "round " << round;
    }
  }
}

TEST(Rfc3263, SrvAllWeightZeroKeepsAnswerOrder) {
  std::mt19937_64 rng(7);
  const auto ordered =
      order_srv({srv(1, 0, "x"), srv(1, 0, "y"), srv(0, 0, "w"), srv(1, 0, "z")}, rng);
  EXPECT_THAT(targets(ordered), ElementsAre("w", "x", "y", "z"));
}

TEST(Rfc3263, SrvWeightedSelectionFavoursHeavyRecords) {
  std::mt19937_64 rng(42);
  const std::vector<SrvRecord> records = {srv(0, 10, "light"), srv(0, 90, "heavy"),
                                          srv(0, 0, "zero")};
  std::map<std::string, int> first;
  std::map<std::string, int> last;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) {
    const auto ordered = order_srv(records, rng);
    ++first[ordered.front().target];
    ++last[ordered.back().target];
  }
  // Chances of being first: heavy 90/101, light 10/101, zero 1/101 (drawn only on a 0).
  EXPECT_GT(first["heavy"], first["light"]);
  EXPECT_GT(first["light"], first["zero"]);
  EXPECT_GT(first["zero"], 0) << "RFC 2782: weight 0 has a small chance";
  EXPECT_NEAR(first["heavy"] / double(kDraws), 90.0 / 101, 0.03);
  EXPECT_NEAR(first["light"] / double(kDraws), 10.0 / 101, 0.03);
  // Zero is last unless drawn early; heavy is last only when both others beat it.
  EXPECT_GT(last["zero"], last["light"]);
  EXPECT_GT(last["light"], last["heavy"]);
}

TEST(Rfc3263, SrvOrderIsReproducibleForASeed) {
  const std::vector<SrvRecord> records = {srv(0, 10, "a"), srv(0, 20, "b"), srv(0, 30, "c"),
                                          srv(0, 40, "d"), srv(5, 1, "e"),  srv(5, 1, "f")};
  std::mt19937_64 one(99);
  std::mt19937_64 two(99);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order_srv(records, one), order_srv(records, two));
}

TEST(Rfc3263, SrvNamesAndDefaultPorts) {
  EXPECT_EQ(srv_name(Transport::tls, "example.test"), "_sips._tcp.example.test");
  EXPECT_EQ(srv_name(Transport::tcp, "example.test"), "_sip._tcp.example.test");
  EXPECT_EQ(srv_name(Transport::udp, "example.test"), "_sip._udp.example.test");
  EXPECT_EQ(default_port(Transport::tls), 5061);
  EXPECT_EQ(default_port(Transport::tcp), 5060);
  EXPECT_EQ(default_port(Transport::udp), 5060);
  // RFC 7118: WebSocket uses the HTTP ports.
  EXPECT_EQ(default_port(Transport::ws), 80);
  EXPECT_EQ(default_port(Transport::wss), 443);
}

TEST(Rfc3263, TtlIsClamped) {
  DnsSettings s;
  s.min_ttl = std::chrono::seconds(10);
  s.max_ttl = std::chrono::seconds(3600);
  EXPECT_EQ(clamp_ttl(std::chrono::seconds(0), s), std::chrono::seconds(10));
  EXPECT_EQ(clamp_ttl(std::chrono::seconds(300), s), std::chrono::seconds(300));
  EXPECT_EQ(clamp_ttl(std::chrono::seconds(86400), s), std::chrono::seconds(3600));
  s.max_ttl = std::chrono::seconds(5);  // crossed: the floor wins
  EXPECT_EQ(clamp_ttl(std::chrono::seconds(300), s), std::chrono::seconds(10));
}

TEST(Rfc3263, DuplicatesRemovedKeepingTheFirst) {
  const auto a = boost::asio::ip::make_address("127.0.0.1");
  const auto b = boost::asio::ip::make_address("::1");
  std::vector<Destination> d = {{a, 5060, Transport::udp}, {b, 5060, Transport::udp},
                                {a, 5060, Transport::udp}, {a, 5060, Transport::tcp},
                                {a, 5061, Transport::udp}, {b, 5060, Transport::udp}};
  remove_duplicates(d);
  EXPECT_THAT(
      d, ElementsAre(Destination{a, 5060, Transport::udp}, Destination{b, 5060, Transport::udp},
                     Destination{a, 5060, Transport::tcp}, Destination{a, 5061, Transport::udp}));
}

TEST(Rfc3263, DestinationText) {
  EXPECT_EQ(to_string(Destination{boost::asio::ip::make_address("192.0.2.1"), 5060}),
            "192.0.2.1:5060");
  EXPECT_EQ(to_string(Destination{boost::asio::ip::make_address("2001:db8::1"), 5061}),
            "[2001:db8::1]:5061");
}

// A response to "x.test SRV" with the given answer TTLs (names compressed to the question).
std::vector<unsigned char> response(const std::vector<std::uint32_t>& ttls) {
  // Reserved up front: GCC 12 -O2 warns (array-bounds, a false positive) when the
  // 12-byte initial buffer grows by insert().
  std::vector<unsigned char> m;
  m.reserve(512);
  for (unsigned char c : {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}) m.push_back(c);
  m[7] = static_cast<unsigned char>(ttls.size());
  const char name[] = "\1x\4test";  // the terminating NUL is the root label
  m.insert(m.end(), name, name + sizeof name);
  for (unsigned char c : {0, 33, 0, 1}) m.push_back(c);
  for (std::uint32_t ttl : ttls) {
    for (unsigned char c : {0xc0, 12, 0, 33, 0, 1}) m.push_back(c);
    for (int shift = 24; shift >= 0; shift -= 8)
      m.push_back(static_cast<unsigned char>(ttl >> shift));
    // rdata: priority, weight, port, target "."
    for (unsigned char c : {0, 7, 0, 0, 0, 0, 0x13, 0xc4, 0}) m.push_back(c);
  }
  return m;
}

TEST(Rfc3263, AnswerTtlIsTheSmallest) {
  auto m = response({300, 60, 3600});
  EXPECT_EQ(min_answer_ttl(m.data(), static_cast<int>(m.size())), 60u);
  m = response({0x80000001u, 60});  // top bit set: treated as 0 (RFC 2181)
  EXPECT_EQ(min_answer_ttl(m.data(), static_cast<int>(m.size())), 0u);
  m = response({});
  EXPECT_EQ(min_answer_ttl(m.data(), static_cast<int>(m.size())), std::nullopt);
}

TEST(Rfc3263, AnswerTtlRejectsTruncatedMessages) {
  const auto m = response({300, 60});
  for (int len : {0, 5, 11, 20, static_cast<int>(m.size()) - 1}) {
    EXPECT_EQ(min_answer_ttl(m.data(), len), std::nullopt) << len;
  }
  // An answer count larger than what follows.
  auto lying = response({300});
  lying[7] = 9;
  EXPECT_EQ(min_answer_ttl(lying.data(), static_cast<int>(lying.size())), std::nullopt);
}

// Constructing a resolver sends nothing; only the server list is checked.
TEST(Rfc3263, ResolverAcceptsServerEntries) {
  boost::asio::io_context io;
  AsioClock clock(io);
  for (const char* ok : {"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]", "[::1]:53"}) {
    DnsSettings s;
    s.servers = {ok};
    EXPECT_NO_THROW(DnsResolver(io, clock, s)) << ok;
  }
}

TEST(Rfc3263, ResolverRejectsBadServerEntriesByName) {
  boost::asio::io_context io;
  AsioClock clock(io);
  for (const char* bad : {"localhost", "127.0.0.1:0", "127.0.0.1:70000",
                          "127.0.0.1:", "[127.0.0.1]:53", "[::1", "[::1]53", "[::1]:x", ""}) {
    DnsSettings s;
    s.servers = {"127.0.0.1", bad};
    try {
      DnsResolver r(io, clock, s);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind("dns server \"" + std::string(bad) + "\": ", 0), 0u)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace stx
