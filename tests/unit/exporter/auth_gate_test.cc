// The bound on basic auth checks waiting for bcrypt: in all, and per client address.
#include "exporter/auth_gate.h"

#include <gtest/gtest.h>

namespace stx {
namespace {

using boost::asio::ip::make_address;

TEST(AuthGate, OneClientGetsItsShareOnly) {
  AuthGate gate(8, 2);
  const auto a = make_address("192.0.2.1");
  EXPECT_TRUE(gate.enter(a));
  EXPECT_TRUE(gate.enter(a));
  EXPECT_FALSE(gate.enter(a)) << "a third check from one address waits for none";
  EXPECT_EQ(gate.waiting_from(a), 2u);
  const auto b = make_address("2001:db8::2");
  EXPECT_TRUE(gate.enter(b)) << "another address still gets a slot";
  EXPECT_EQ(gate.waiting(), 3u);
  gate.leave(a);
  EXPECT_TRUE(gate.enter(a));
}

TEST(AuthGate, AllSlotsTakenRefusesEveryone) {
  AuthGate gate(3, 2);
  for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3"}) {
    EXPECT_TRUE(gate.enter(make_address(ip))) << ip;
  }
  EXPECT_FALSE(gate.enter(make_address("192.0.2.4")));
  EXPECT_EQ(gate.waiting_from(make_address("192.0.2.4")), 0u) << "a refusal takes nothing";
  gate.leave(make_address("192.0.2.2"));
  EXPECT_TRUE(gate.enter(make_address("192.0.2.4")));
  EXPECT_EQ(gate.waiting(), 3u);
}

TEST(AuthGate, LeavingEmptiesTheClientTable) {
  AuthGate gate(4, 4);
  const auto a = make_address("127.0.0.1");
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(gate.enter(a));
  for (int i = 0; i < 4; ++i) gate.leave(a);
  EXPECT_EQ(gate.waiting(), 0u);
  EXPECT_EQ(gate.waiting_from(a), 0u);
  gate.leave(a);  // an unmatched leave changes nothing
  EXPECT_EQ(gate.waiting(), 0u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(gate.enter(a));
}

TEST(AuthGate, ARefusedClientLeavesNoEntry) {
  AuthGate gate(4, 0);
  const auto a = make_address("192.0.2.9");
  EXPECT_FALSE(gate.enter(a));
  EXPECT_EQ(gate.waiting(), 0u);
  EXPECT_EQ(gate.waiting_from(a), 0u);
}

}  // namespace
}  // namespace stx
