#include "sip/digest_auth.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stx {
namespace {

std::string error_of(std::string_view value) {
  std::string error;
  std::optional<DigestChallenge> c = parse_digest_challenge(value, &error);
  EXPECT_FALSE(c.has_value()) << "accepted: " << value;
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(error.find_first_of("\r\n"), std::string::npos) << error;
  return error;
}

DigestChallenge parse_ok(std::string_view value) {
  std::string error;
  std::optional<DigestChallenge> c = parse_digest_challenge(value, &error);
  EXPECT_TRUE(c.has_value()) << value << ": " << error;
  return c.value_or(DigestChallenge{});
}

// --- the RFC examples ----------------------------------------------------------------

// RFC 2617 section 3.5.
constexpr std::string_view kRfc2617Challenge =
    "Digest\r\n"
    "                 realm=\"testrealm@host.com\",\r\n"
    "                 qop=\"auth,auth-int\",\r\n"
    "                 nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n"
    "                 opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";

TEST(DigestAuth, Rfc2617Example) {
  DigestChallenge c = parse_ok(kRfc2617Challenge);
  EXPECT_EQ(c.realm, "testrealm@host.com");
  EXPECT_EQ(c.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
  EXPECT_EQ(c.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
  EXPECT_EQ(c.algorithm, "MD5");
  EXPECT_TRUE(c.qop_auth);
  EXPECT_FALSE(c.stale);

  std::string out;
  ASSERT_TRUE(write_digest_authorization(c, DigestCredentials{"Mufasa", "Circle Of Life", ""},
                                         "GET", "/dir/index.html", "0a4f113b", 1, out));
  EXPECT_EQ(out,
            "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
            "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
            "response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5, cnonce=\"0a4f113b\", "
            "qop=auth, nc=00000001, opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
}

// RFC 7616 section 3.9.1: the same request answered with SHA-256 and with MD5.
constexpr std::string_view kRfc7616Sha256 =
    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, "
    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
constexpr std::string_view kRfc7616Md5 =
    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, "
    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
constexpr std::string_view kRfc7616Cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

TEST(DigestAuth, Rfc7616Sha256Example) {
  DigestChallenge c = parse_ok(kRfc7616Sha256);
  EXPECT_EQ(c.algorithm, "SHA-256");
  EXPECT_TRUE(c.qop_auth);
  std::string out;
  ASSERT_TRUE(write_digest_authorization(c, DigestCredentials{"Mufasa", "Circle of Life", ""},
                                         "GET", "/dir/index.html", kRfc7616Cnonce, 1, out));
  EXPECT_EQ(out,
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", "
            "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", uri=\"/dir/index.html\", "
            "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", "
            "algorithm=SHA-256, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", "
            "qop=auth, nc=00000001, opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"");
}

TEST(DigestAuth, Rfc7616Md5Example) {
  DigestChallenge c = parse_ok(kRfc7616Md5);
  std::string out;
  ASSERT_TRUE(write_digest_authorization(c, DigestCredentials{"Mufasa", "Circle of Life", ""},
                                         "GET", "/dir/index.html", kRfc7616Cnonce, 1, out));
  EXPECT_NE(out.find("response=\"8ca523f5e9506fed4657c9700eebdbec\", algorithm=MD5"),
            std::string::npos)
      << out;
}

// --- writing ---------------------------------------------------------------------------

TEST(DigestAuth, Rfc2069WithoutQopHasNoCnonceOrNc) {
  DigestChallenge c = parse_ok("Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e\"");
  EXPECT_FALSE(c.qop_auth);
  EXPECT_EQ(c.opaque, "");
  std::string out;
  ASSERT_TRUE(write_digest_authorization(c, DigestCredentials{"Mufasa", "Circle Of Life", ""},
                                         "OPTIONS", "sip:carrier.example", "ignored", 7, out));
  // response = MD5(HA1 ":" nonce ":" HA2), no cnonce, qop, nc or opaque.
  EXPECT_EQ(out,
            "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
            "nonce=\"dcd98b7102dd2f0e\", uri=\"sip:carrier.example\", "
            "response=\"30906dd16a6cff25affc62d6a0cee5b5\", algorithm=MD5");
}

TEST(DigestAuth, NonceCountIsEightHexDigits) {
  DigestChallenge c = parse_ok("Digest realm=\"r\", nonce=\"n\", qop=\"auth\"");
  std::string out;
  ASSERT_TRUE(write_digest_authorization(c, DigestCredentials{"u", "p", ""}, "OPTIONS",
                                         "sip:x.example", "abc", 0x1a2bu, out));
  EXPECT_NE(out.find(", nc=00001a2b"), std::string::npos) << out;
  ASSERT_TRUE(write_digest_authorization(c, DigestCredentials{"u", "p", ""}, "OPTIONS",
                                         "sip:x.example", "abc", 0xffffffffu, out));
  EXPECT_NE(out.find(", nc=ffffffff"), std::string::npos) << out;
}

TEST(DigestAuth, QuotesAndBackslashesAreEscapedButHashedUnescaped) {
  DigestChallenge c = parse_ok(R"(Digest realm="a \"b\" \\c", nonce="n\"1", opaque="o\\")");
  EXPECT_EQ(c.realm, R"(a "b" \c)");
  EXPECT_EQ(c.nonce, R"(n"1)");
  EXPECT_EQ(c.opaque, R"(o\)");
  std::string out;
  ASSERT_TRUE(write_digest_authorization(c, DigestCredentials{R"(us"er\)", "pw", ""}, "OPTIONS",
                                         "sip:x.example", "", 1, out));
  EXPECT_NE(out.find(R"(username="us\"er\\", realm="a \"b\" \\c", nonce="n\"1")"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(R"(, opaque="o\\")"), std::string::npos) << out;

  // The hash covers the unescaped values (no qop): MD5(MD5(user:realm:pw):nonce:MD5(A2)),
  // computed independently.
  EXPECT_NE(out.find("response=\"57e269a7fe99aa5e969bfe40f79ffa0d\""), std::string::npos) << out;
}

TEST(DigestAuth, PasswordChangesTheResponseAndNeverAppears) {
  DigestChallenge c = parse_ok(kRfc2617Challenge);
  std::string a, b;
  ASSERT_TRUE(write_digest_authorization(c, DigestCredentials{"Mufasa", "s3cret-pw", ""}, "GET",
                                         "/x", "cn", 1, a));
  ASSERT_TRUE(write_digest_authorization(c, DigestCredentials{"Mufasa", "s3cret-pX", ""}, "GET",
                                         "/x", "cn", 1, b));
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find("s3cret"), std::string::npos);
}

TEST(DigestAuth, RefusesWhatCannotBeCarried) {
  DigestChallenge c = parse_ok(kRfc2617Challenge);
  std::string out = "stale";
  auto write = [&](std::string_view user, std::string_view method, std::string_view uri,
                   std::string_view cnonce) {
    return write_digest_authorization(c, DigestCredentials{std::string(user), "pw", ""}, method,
                                      uri, cnonce, 1, out);
  };
  EXPECT_FALSE(write("bad\r\nVia: x", "OPTIONS", "sip:x", "cn"));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(write("bad\n", "OPTIONS", "sip:x", "cn"));
  EXPECT_FALSE(write("u", "OPT IONS", "sip:x", "cn"));
  EXPECT_FALSE(write("u", "", "sip:x", "cn"));
  EXPECT_FALSE(write("u", "OPTIONS", "sip:x\"y", "cn"));
  EXPECT_FALSE(write("u", "OPTIONS", "", "cn"));
  EXPECT_FALSE(write("u", "OPTIONS", "sip:x", ""));  // qop=auth needs a cnonce
  EXPECT_FALSE(write("u", "OPTIONS", "sip:x", "c n"));
  EXPECT_TRUE(write("u", "OPTIONS", "sip:x", "cn"));
  EXPECT_FALSE(out.empty());
}

TEST(DigestAuth, ReusedBufferIsRewritten) {
  DigestChallenge c = parse_ok(kRfc2617Challenge);
  std::string out(500, 'x');
  ASSERT_TRUE(write_digest_authorization(c, DigestCredentials{"Mufasa", "Circle Of Life", ""},
                                         "GET", "/dir/index.html", "0a4f113b", 1, out));
  EXPECT_EQ(out.rfind("Digest ", 0), 0u);
  EXPECT_EQ(out.find('x', out.size() - 3), std::string::npos);
}

// --- parsing -----------------------------------------------------------------------------

TEST(DigestChallengeParse, SchemeAndNamesAreCaseInsensitive) {
  DigestChallenge c = parse_ok("dIgEsT REALM=\"r\", Nonce=\"n\", ALGORITHM=sha-256, QOP=\"AUTH\"");
  EXPECT_EQ(c.realm, "r");
  EXPECT_EQ(c.nonce, "n");
  EXPECT_EQ(c.algorithm, "SHA-256");
  EXPECT_TRUE(c.qop_auth);
}

TEST(DigestChallengeParse, TokenValuesAndExtraWhitespace) {
  DigestChallenge c =
      parse_ok("Digest  realm = \"r\" ,nonce=abc123 , algorithm = MD5,stale=TRUE, ,");
  EXPECT_EQ(c.nonce, "abc123");
  EXPECT_EQ(c.algorithm, "MD5");
  EXPECT_TRUE(c.stale);
  EXPECT_FALSE(parse_ok("Digest realm=\"r\", nonce=\"n\", stale=false").stale);
}

TEST(DigestChallengeParse, CommasInsideQuotedValues) {
  DigestChallenge c = parse_ok("Digest realm=\"a, b\", nonce=\"x,y=z\"");
  EXPECT_EQ(c.realm, "a, b");
  EXPECT_EQ(c.nonce, "x,y=z");
}

TEST(DigestChallengeParse, UnknownParametersIgnored) {
  DigestChallenge c = parse_ok(
      "Digest realm=\"r\", domain=\"sip:a sip:b\", nonce=\"n\", charset=UTF-8, "
      "userhash=false, x-custom=\"1\"");
  EXPECT_EQ(c.realm, "r");
  EXPECT_EQ(c.nonce, "n");
}

TEST(DigestChallengeParse, QopListMayContainAuthInt) {
  EXPECT_TRUE(parse_ok("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int,auth\"").qop_auth);
  EXPECT_TRUE(parse_ok("Digest realm=\"r\", nonce=\"n\", qop=auth").qop_auth);
  EXPECT_FALSE(parse_ok("Digest realm=\"r\", nonce=\"n\"").qop_auth);
  EXPECT_EQ(error_of("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\""),
            "Digest qop \"auth-int\" is not supported (want auth)");
}

TEST(DigestChallengeParse, EmptyRealmIsAllowed) {
  EXPECT_EQ(parse_ok("Digest realm=\"\", nonce=\"n\"").realm, "");
}

TEST(DigestChallengeParse, Algorithms) {
  EXPECT_EQ(parse_ok("Digest realm=\"r\", nonce=\"n\"").algorithm, "MD5");
  EXPECT_EQ(parse_ok("Digest realm=\"r\", nonce=\"n\", algorithm=\"md5\"").algorithm, "MD5");
  EXPECT_EQ(error_of("Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess"),
            "Digest algorithm \"MD5-sess\" is not supported (want MD5 or SHA-256)");
  EXPECT_EQ(error_of("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256-sess"),
            "Digest algorithm \"SHA-256-sess\" is not supported (want MD5 or SHA-256)");
  EXPECT_EQ(error_of("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256"),
            "Digest algorithm \"SHA-512-256\" is not supported (want MD5 or SHA-256)");
}

TEST(DigestChallengeParse, OtherSchemesAreSkipped) {
  EXPECT_EQ(error_of("Basic realm=\"r\""), "no Digest challenge (scheme \"Basic\")");
  DigestChallenge c = parse_ok("Basic realm=\"b\", Digest realm=\"d\", nonce=\"n\"");
  EXPECT_EQ(c.realm, "d");
  c = parse_ok("Negotiate abc==, Digest realm=\"d\", nonce=\"n\", Basic realm=\"x\"");
  EXPECT_EQ(c.realm, "d");
  EXPECT_EQ(c.nonce, "n");
  // The first Digest challenge of a value wins.
  c = parse_ok("Digest realm=\"1\", nonce=\"a\", Digest realm=\"2\", nonce=\"b\"");
  EXPECT_EQ(c.realm, "1");
}

TEST(DigestChallengeParse, Errors) {
  EXPECT_EQ(error_of(""), "empty challenge");
  EXPECT_EQ(error_of("   "), "empty challenge");
  EXPECT_EQ(error_of("realm=\"r\""), "missing auth scheme");
  EXPECT_EQ(error_of("Digest nonce=\"n\""), "Digest challenge without realm");
  EXPECT_EQ(error_of("Digest realm=\"r\""), "Digest challenge without nonce");
  EXPECT_EQ(error_of("Digest realm=\"r\", nonce=\"\""), "Digest challenge without nonce");
  EXPECT_EQ(error_of("Digest"), "Digest challenge without realm");
  EXPECT_EQ(error_of("Digest realm=\"r, nonce=\"n"), "malformed quoted value of \"realm\"");
  EXPECT_EQ(error_of("Digest realm=\"r\", nonce=\"n"), "unterminated quoted string");
  EXPECT_EQ(error_of("Digest realm=\"r\", realm=\"s\", nonce=\"n\""),
            "duplicate parameter \"realm\"");
  EXPECT_EQ(error_of("Digest realm=\"r\"x, nonce=\"n\""), "malformed quoted value of \"realm\"");
  EXPECT_EQ(error_of("Digest realm=\"r\", nonce="), "empty value of \"nonce\"");
  EXPECT_EQ(error_of("Digest realm=\"r\", nonce=a\"b"), "unterminated quoted string");
  EXPECT_EQ(error_of("Digest realm=\"r\", nonce=a<b"), "malformed value of \"nonce\"");
  EXPECT_EQ(error_of("Digest realm=\"r\", nonce=\"n\" x"), "malformed quoted value of \"nonce\"");
  EXPECT_EQ(error_of("Di/gest realm=\"r\""),
            "malformed challenge near \"Di/gest realm=\\\"r\\\"\"");
}

TEST(DigestChallengeParse, ControlCharactersInValuesAreRefused) {
  EXPECT_EQ(error_of("Digest realm=\"a\r\nVia: x\", nonce=\"n\""),
            "control character in the value of \"realm\"");
  using namespace std::string_view_literals;  // the literal's length, its NUL included
  EXPECT_EQ(error_of("Digest realm=\"a\0b\", nonce=\"n\""sv),
            "control character in the value of \"realm\"");
  // Folding between parameters is whitespace.
  EXPECT_EQ(parse_ok("Digest realm=\"r\",\r\n nonce=\"n\"").nonce, "n");
}

TEST(DigestChallengeParse, ValuesAreBounded) {
  const std::string ok(kMaxDigestValueLength - 2, 'n');  // with its quotes: 1024 bytes
  EXPECT_EQ(parse_ok("Digest realm=\"r\", nonce=\"" + ok + "\"").nonce, ok);
  const std::string big(kMaxDigestValueLength, 'n');
  EXPECT_EQ(error_of("Digest realm=\"r\", nonce=\"" + big + "\""),
            "value of \"nonce\" longer than 1024 bytes");
  EXPECT_EQ(error_of("Digest realm=\"r\", nonce=" + big + "n"),
            "value of \"nonce\" longer than 1024 bytes");
}

TEST(DigestChallengeParse, ABareTokenStartsAnotherChallenge) {
  // RFC 7235: a challenge may have no parameters; it ends ours.
  DigestChallenge c = parse_ok("Digest realm=\"r\", nonce=\"n\", Foo, opaque=\"o\"");
  EXPECT_EQ(c.nonce, "n");
  EXPECT_EQ(c.opaque, "");
}

TEST(DigestChallengeParse, NullErrorPointerIsAllowed) {
  EXPECT_FALSE(parse_digest_challenge("Basic realm=\"r\"", nullptr).has_value());
}

// --- choosing ------------------------------------------------------------------------------

TEST(DigestChoose, PrefersSha256) {
  std::vector<DigestChallenge> challenges = {parse_ok(kRfc7616Md5), parse_ok(kRfc7616Sha256)};
  EXPECT_EQ(choose_challenge(challenges), &challenges[1]);
  challenges = {parse_ok(kRfc7616Sha256), parse_ok(kRfc7616Md5)};
  EXPECT_EQ(choose_challenge(challenges), &challenges[0]);
  challenges = {parse_ok(kRfc7616Md5), parse_ok(kRfc2617Challenge)};
  EXPECT_EQ(choose_challenge(challenges), &challenges[0]);
  EXPECT_EQ(choose_challenge({}), nullptr);
}

TEST(DigestChoose, PickFromHeaderValues) {
  std::string error;
  std::vector<std::string_view> values = {"Basic realm=\"x\"", kRfc7616Md5, kRfc7616Sha256};
  std::optional<DigestChallenge> c = pick_challenge(values, &error);
  ASSERT_TRUE(c.has_value()) << error;
  EXPECT_EQ(c->algorithm, "SHA-256");

  values = {kRfc7616Md5, "Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess"};
  c = pick_challenge(values, &error);
  ASSERT_TRUE(c.has_value()) << error;
  EXPECT_EQ(c->algorithm, "MD5");

  values = {"Basic realm=\"x\"", "Digest realm=\"r\", nonce=\"n\", algorithm=AKAv1-MD5"};
  EXPECT_FALSE(pick_challenge(values, &error).has_value());
  EXPECT_EQ(error, "no Digest challenge (scheme \"Basic\")");
  EXPECT_FALSE(pick_challenge({}, &error).has_value());
  EXPECT_EQ(error, "no challenge in the response");
}

}  // namespace
}  // namespace stx
