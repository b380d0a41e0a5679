#include "sip/redact.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace stx {
namespace {

const char* kRequest =
    "OPTIONS sip:auth@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc\r\n"
    "authorization : Digest username=\"probe\", response=\"6629fae49393a05397450978507c4ef1\"\r\n"
    "Proxy-Authorization: Digest username=\"probe\", response=\"00ff\"\r\n"
    "Content-Length: 0\r\n\r\n";

TEST(Redact, HidesEveryCredentialsHeaderAndKeepsTheRest) {
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
  EXPECT_EQ(redact_credentials(plain), plain);
}

}  // namespace
}  // namespace stx
