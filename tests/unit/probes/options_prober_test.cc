// The OPTIONS prober on its own: the request it writes from an exchange's context, and how
// it judges final answers. No transport, no clock.
#include "probes/options_prober.h"

#include <gtest/gtest.h>

#include "probes/probers.h"

namespace stx {
namespace {

TargetConfig config() {
  TargetConfig t;
  t.uri = "sip:trunk.example.com";
  t.shared.edit().from = "sip:prober@example.com";
  t.shared.edit().user_agent = "ua/1";
  t.shared.edit().healthy_codes.classes[2] = true;
  t.shared.edit().healthy_codes.codes = {404};
  return t;
}

RequestContext context(const TargetConfig& cfg) {
  return {.cfg = cfg,
          .request_uri = "sip:+15550100@trunk.example.com",
          .via_transport = "TCP",
          .via_sent_by = "192.0.2.1:40000",
          .contact = "sip:prober@192.0.2.1:40000;transport=tcp",
          .branch = "z9hG4bK0000000100000000000000aa",
          .call_id = "c0ffee",
          .from_tag = "f00d",
          .cseq = 7,
          .authorization_name = {},
          .authorization_value = {}};
}

TEST(OptionsProber, IsTheProberRegisteredForOptions) {
  EXPECT_NE(dynamic_cast<const OptionsProber*>(&prober_for(ProbeMethod::options)), nullptr);
  EXPECT_EQ(prober_for(ProbeMethod::options).method(), "OPTIONS");
}

TEST(OptionsProber, WritesTheRequestFromTheExchangeContext) {
  const TargetConfig cfg = config();
  std::string out;
  OptionsProber().write_request(context(cfg), out);
  EXPECT_EQ(out.rfind("OPTIONS sip:+15550100@trunk.example.com SIP/2.0\r\n", 0), 0U);
  EXPECT_NE(out.find("\r\nVia: SIP/2.0/TCP 192.0.2.1:40000;branch=z9hG4bK0000000100000000000000aa;"
                     "rport\r\n"),
            std::string::npos);
  EXPECT_NE(out.find("\r\nTo: <sip:trunk.example.com>\r\n"), std::string::npos);  // to = uri
  EXPECT_NE(out.find("\r\nCSeq: 7 OPTIONS\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nContact: <sip:prober@192.0.2.1:40000;transport=tcp>\r\n"),
            std::string::npos);
  EXPECT_NE(out.find("\r\nAccept: application/sdp\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Authorization"), std::string::npos);
}

TEST(OptionsProber, ConfiguredToAndContactWinAndCredentialsAreWritten) {
  TargetConfig cfg = config();
  cfg.shared.edit().to = "sip:other@example.com";
  cfg.shared.edit().contact = "sip:fixed@198.51.100.1";
  RequestContext c = context(cfg);
  c.authorization_name = "Proxy-Authorization";
  c.authorization_value = "Digest username=\"u\"";
  std::string out;
  OptionsProber().write_request(c, out);
  EXPECT_NE(out.find("\r\nTo: <sip:other@example.com>\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nContact: <sip:fixed@198.51.100.1>\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nProxy-Authorization: Digest username=\"u\"\r\n"), std::string::npos);
}

TEST(OptionsProber, HealthyCodesJudgeTheFinalAnswer) {
  const TargetConfig cfg = config();
  SipResponse r;
  for (const auto& [code, healthy] : std::vector<std::pair<int, bool>>{
           {200, true}, {204, true}, {404, true}, {403, false}, {503, false}}) {
    r.status_code = code;
    const Judgement j = OptionsProber().judge(cfg, FinalResponse{r, false});
    EXPECT_EQ(j.healthy, healthy) << code;
    EXPECT_EQ(j.reason, FailureReason::none) << code;
    EXPECT_FALSE(j.contacts) << code;
  }
}

// A 401 after our credentials is just an unhealthy code for OPTIONS (as before REGISTER).
TEST(OptionsProber, ARefusedChallengeIsAnUnhealthyCode) {
  SipResponse r;
  r.status_code = 401;
  const Judgement j = OptionsProber().judge(config(), FinalResponse{r, true});
  EXPECT_FALSE(j.healthy);
  EXPECT_EQ(j.reason, FailureReason::none);
}

}  // namespace
}  // namespace stx
