// The REGISTER prober on its own: the fetch it writes (registrar Request-URI, AOR in To, no
// Contact) and how it judges answers: 2xx with a binding count, min_contacts, a refused
// password, other codes by healthy_codes. No transport, no clock.
#include "probes/register_prober.h"

#include <gtest/gtest.h>

#include "probes/probers.h"

namespace stx {
namespace {

TargetConfig config() {
  TargetConfig t;
  t.uri = "sip:pbx01@registrar.example.com:5070;transport=tcp";
  t.shared.edit().from = "sip:pbx01@example.com";
  t.shared.edit().user_agent = "ua/1";
  t.shared.edit().method = ProbeMethod::register_;
  t.shared.edit().healthy_codes.classes[2] = true;
  t.shared.edit().healthy_codes.codes = {404};
  return t;
}

RequestContext context(const TargetConfig& cfg, std::string_view request_uri) {
  return {.cfg = cfg,
          .request_uri = request_uri,
          .via_transport = "TCP",
          .via_sent_by = "192.0.2.1:40000",
          .contact = "sip:pbx01@192.0.2.1:40000;transport=tcp",
          .branch = "z9hG4bK0000000100000000000000aa",
          .call_id = "c0ffee",
          .from_tag = "f00d",
          .cseq = 3,
          .authorization_name = {},
          .authorization_value = {}};
}

Judgement judge(const TargetConfig& cfg, int code, std::uint32_t contacts = 0,
                bool credentials_sent = false, bool malformed = false) {
  SipResponse r;
  r.status_code = code;
  r.contact_count = contacts;
  r.contacts_malformed = malformed;
  return RegisterProber().judge(cfg, FinalResponse{r, credentials_sent});
}

TEST(RegisterProber, IsTheProberRegisteredForRegister) {
  EXPECT_NE(dynamic_cast<const RegisterProber*>(&prober_for(ProbeMethod::register_)), nullptr);
  EXPECT_EQ(prober_for(ProbeMethod::register_).method(), "REGISTER");
}

TEST(RegisterProber, RequestUriIsTheRegistrarWithoutUserPart) {
  TargetConfig cfg = config();
  EXPECT_EQ(RegisterProber().request_uri(cfg), "sip:registrar.example.com:5070;transport=tcp");
  // The OPTIONS prober keeps the URI (with ruri_user when set).
  EXPECT_EQ(prober_for(ProbeMethod::options).request_uri(cfg), cfg.uri);
  cfg.shared.edit().ruri_user = "+15550100";
  EXPECT_EQ(prober_for(ProbeMethod::options).request_uri(cfg),
            "sip:+15550100@registrar.example.com:5070;transport=tcp");
}

TEST(RegisterProber, WritesAFetchToTheAddressOfRecord) {
  TargetConfig cfg = config();
  cfg.shared.edit().contact = "sip:configured@198.51.100.1";  // never sent in a REGISTER
  cfg.shared.edit().to = "sip:ignored@example.com";           // To is the AOR
  const std::string ruri = RegisterProber().request_uri(cfg);
  std::string out;
  RegisterProber().write_request(context(cfg, ruri), out);
  EXPECT_EQ(out.rfind("REGISTER sip:registrar.example.com:5070;transport=tcp SIP/2.0\r\n", 0), 0U)
      << out;
  EXPECT_NE(out.find("\r\nFrom: <sip:pbx01@example.com>;tag=f00d\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nTo: <sip:pbx01@example.com>\r\n"), std::string::npos) << "To = From";
  EXPECT_NE(out.find("\r\nCSeq: 3 REGISTER\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Contact"), std::string::npos) << out;
  EXPECT_EQ(out.find("Expires"), std::string::npos) << out;

  cfg.shared.edit().aor = "sip:pbx02@carrier.example";
  RegisterProber().write_request(context(cfg, ruri), out);
  EXPECT_NE(out.find("\r\nTo: <sip:pbx02@carrier.example>\r\n"), std::string::npos) << out;
}

TEST(RegisterProber, WritesCredentialsWhenAnsweringAChallenge) {
  const TargetConfig cfg = config();
  RequestContext c = context(cfg, "sip:registrar.example.com");
  c.authorization_name = "Authorization";
  c.authorization_value = "Digest username=\"pbx01\"";
  std::string out;
  RegisterProber().write_request(c, out);
  EXPECT_NE(out.find("\r\nAuthorization: Digest username=\"pbx01\"\r\n"), std::string::npos);
}

TEST(RegisterProber, A2xxIsHealthyAndCarriesTheBindingCount) {
  TargetConfig cfg = config();
  cfg.shared.edit().healthy_codes = HealthyCodes{};  // a 2xx is healthy whatever healthy_codes says
  cfg.shared.edit().healthy_codes.codes = {404};
  for (const int code : {200, 202}) {
    const Judgement j = judge(cfg, code, 2);
    EXPECT_TRUE(j.healthy) << code;
    EXPECT_EQ(j.reason, FailureReason::none);
    EXPECT_EQ(j.contacts, 2u);
  }
  EXPECT_EQ(judge(cfg, 200, 0).contacts, 0u);
  EXPECT_TRUE(judge(cfg, 200, 0).healthy);
}

TEST(RegisterProber, MinContactsMakesTooFewBindingsNoBinding) {
  TargetConfig cfg = config();
  cfg.shared.edit().min_contacts = 2;
  Judgement j = judge(cfg, 200, 1);
  EXPECT_FALSE(j.healthy);
  EXPECT_EQ(j.reason, FailureReason::no_binding);
  EXPECT_EQ(j.contacts, 1u);
  EXPECT_TRUE(judge(cfg, 200, 2).healthy);
  EXPECT_TRUE(judge(cfg, 200, 3).healthy);
  // A Contact list that cannot be counted proves nothing: no count, and no_binding when a
  // minimum is asked for.
  j = judge(cfg, 200, 5, false, true);
  EXPECT_FALSE(j.healthy);
  EXPECT_EQ(j.reason, FailureReason::no_binding);
  EXPECT_FALSE(j.contacts);
  cfg.shared.edit().min_contacts = 0;
  j = judge(cfg, 200, 5, false, true);
  EXPECT_TRUE(j.healthy);
  EXPECT_FALSE(j.contacts);
}

TEST(RegisterProber, AChallengeToOurCredentialsIsAuth) {
  const TargetConfig cfg = config();
  for (const int code : {401, 407}) {
    const Judgement j = judge(cfg, code, 0, true);
    EXPECT_FALSE(j.healthy) << code;
    EXPECT_EQ(j.reason, FailureReason::auth) << code;
    EXPECT_FALSE(j.contacts);
    // Without credentials sent (none configured, or a challenge we could not answer) it is
    // an unhealthy code like any other.
    EXPECT_EQ(judge(cfg, code, 0, false).reason, FailureReason::none) << code;
    EXPECT_FALSE(judge(cfg, code, 0, false).healthy) << code;
  }
}

TEST(RegisterProber, OtherCodesAreJudgedByHealthyCodes) {
  const TargetConfig cfg = config();
  EXPECT_TRUE(judge(cfg, 404).healthy);
  EXPECT_FALSE(judge(cfg, 403, 0, true).healthy);
  EXPECT_EQ(judge(cfg, 403, 0, true).reason, FailureReason::none);
  EXPECT_FALSE(judge(cfg, 503).healthy);
  EXPECT_FALSE(judge(cfg, 503).contacts);
}

}  // namespace
}  // namespace stx
