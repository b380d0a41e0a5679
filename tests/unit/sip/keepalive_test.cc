// RFC 5626 keepalives are recognised, and nothing that could be a SIP message is taken for one.
#include "sip/keepalive.h"

#include <string>

#include <gtest/gtest.h>

namespace stx {
namespace {

// A STUN Binding request (RFC 5389 6): type 0x0001, length, magic cookie, transaction id.
std::string stun(unsigned type = 0x0001, const std::string& attributes = "") {
  std::string d;
  d += static_cast<char>(type >> 8);
  d += static_cast<char>(type & 0xff);
  d += static_cast<char>(attributes.size() >> 8);
  d += static_cast<char>(attributes.size() & 0xff);
  d += std::string("\x21\x12\xA4\x42", 4);
  d += "0123456789ab";  // transaction id
  return d + attributes;
}

TEST(Keepalive, LineEndingsOnly) {
  for (const char* d : {"\r\n\r\n", "\r\n", "\n", "\r\n\r\n\r\n"}) {
    EXPECT_TRUE(is_keepalive_datagram(d)) << d;
  }
  EXPECT_FALSE(is_keepalive_datagram(""));
  EXPECT_FALSE(is_keepalive_datagram("\r\n\r\nSIP/2.0 200 OK\r\n"));
  EXPECT_FALSE(is_keepalive_datagram(" \r\n"));
}

TEST(Keepalive, StunBinding) {
  EXPECT_TRUE(is_keepalive_datagram(stun()));
  EXPECT_TRUE(is_keepalive_datagram(stun(0x0101)));  // a Binding success response
  EXPECT_TRUE(is_keepalive_datagram(stun(0x0011)));  // a Binding indication
  EXPECT_TRUE(is_keepalive_datagram(stun(0x0001, std::string("\x80\x22\x00\x04test", 8))));
  EXPECT_FALSE(is_keepalive_datagram(stun(0x0003))) << "Allocate (TURN) is no keepalive";
  EXPECT_FALSE(is_keepalive_datagram(stun(0x4001))) << "top bits set";
  std::string wrong_cookie = stun();
  wrong_cookie[4] = 0x22;
  EXPECT_FALSE(is_keepalive_datagram(wrong_cookie));
  EXPECT_FALSE(is_keepalive_datagram(stun() + "xx")) << "length does not cover the datagram";
  EXPECT_FALSE(is_keepalive_datagram(stun().substr(0, 19)));
  EXPECT_FALSE(is_keepalive_datagram(stun(0x0001, "abc")));  // attributes not 4-aligned
}

}  // namespace
}  // namespace stx
