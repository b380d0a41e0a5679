#include "probes/options_prober.h"

#include "sip/sip_request.h"

namespace stx {

std::string_view OptionsProber::method() const { return kOptions; }

void OptionsProber::write_request(const RequestContext& c, std::string& out) const {
  OptionsRequest r;
  r.request_uri = c.request_uri;
  r.to_uri = c.cfg.to.empty() ? c.cfg.uri : c.cfg.to;
  r.from_uri = c.cfg.from;
  r.from_tag = c.from_tag;
  r.via_transport = c.via_transport;
  r.via_sent_by = c.via_sent_by;
  r.branch = c.branch;
  r.call_id = c.call_id;
  r.cseq = c.cseq;
  r.contact_uri = c.cfg.contact.empty() ? c.contact : std::string_view(c.cfg.contact);
  r.user_agent = c.cfg.user_agent;
  r.extra_headers = c.cfg.headers;
  r.authorization_name = c.authorization_name;
  r.authorization_value = c.authorization_value;
  build_options(r, out);
}

Judgement OptionsProber::judge(const TargetConfig& cfg, const FinalResponse& answer) const {
  return {cfg.healthy_codes.contains(answer.response.status_code), FailureReason::none, {}};
}

}  // namespace stx
