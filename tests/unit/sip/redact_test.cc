#include "sip/redact.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace stx {
namespace {

const char* kRequest =
    "OPTIONS sip:auth@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc\r\n"
    "authorization : Digest username=\"probe\", response=\"6629fae49393a05397450978507c4ef1\"\r\n"
    "Proxy-Authorization: Digest username=\"probe\", response=\"00ff\"\r\n"
    "Content-Length: 0\r\n\r\n";

TEST(Redact, HidesEveryCredentialsHeaderAndKeepsTheRest) {
  ASSERT_TRUE(has_credentials(kRequest));
  const std::string out = redact_credentials(kRequest);
  EXPECT_EQ(out.find("6629fae4"), std::string::npos);
  EXPECT_EQ(out.find("00ff"), std::string::npos);
  EXPECT_NE(out.find("authorization : Digest <credentials hidden>\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Proxy-Authorization: Digest <credentials hidden>\r\n"), std::string::npos);
  EXPECT_NE(out.find("Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

TEST(Redact, LeavesMessagesWithoutCredentialsAlone) {
  const std::string plain = "OPTIONS sip:x SIP/2.0\r\nX-Authorization-Hint: none\r\n\r\n";
  EXPECT_FALSE(has_credentials(plain));
  EXPECT_EQ(redact_credentials(plain), plain);
}

// The definition, line by line, that has_credentials() must agree with.
bool has_credentials_line_by_line(std::string_view message) {
  for (std::size_t pos = 0; pos < message.size();) {
    const auto end = message.find('\n', pos);
    std::string_view line = message.substr(pos, end == std::string_view::npos ? end : end - pos);
    std::string lower(line);
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    for (const std::string_view name : {"authorization", "proxy-authorization"}) {
      if (lower.rfind(name, 0) != 0) continue;
      const auto colon = lower.find_first_not_of(" \t", name.size());
      if (colon != std::string::npos && lower[colon] == ':') return true;
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return false;
}

TEST(Redact, FindsCredentialsExactlyWhereALineByLineReadingDoes) {
  const std::vector<std::string> lines = {
      "Authorization: Digest x",  "AUTHORIZATION:x",         "authorization \t : y",
      "Proxy-Authorization: z",   "pRoXy-AuThOrIzAtIoN:",    "X-Authorization: no",
      "Authorizationx: no",       "Authorizatio: no",        "Authorization no colon",
      " Authorization: folded",   "Via: SIP/2.0/UDP h;branch=z9hG4bKzz", "Zz: zZ",
      "proxy-authorizatioN\t:", "Proxy-Authorization",     "",
      "zzzzzzzzzzzzzz: z",        "Proxy-Authorizationzz: no"};
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    std::string message;
    const int n = static_cast<int>(rng() % 5) + 1;
    for (int i = 0; i < n; ++i) {
      if (i > 0) message += (rng() % 2 != 0) ? "\r\n" : "\n";
      message += lines[rng() % lines.size()];
    }
    if (rng() % 2 != 0) message += "\r\n";
    ASSERT_EQ(has_credentials(message), has_credentials_line_by_line(message)) << message;
  }
}

}  // namespace
}  // namespace stx
