#include "probes/options_prober.h"

#include "sip/sip_request.h"

namespace stx {

std::string_view OptionsProber::method() const { return kOptions; }

void OptionsProber::write_request(const RequestContext& c, std::string& out) const {
  RequestFields r = common_request_fields(c);
  r.to_uri = c.cfg.shared->to.empty() ? c.cfg.uri : c.cfg.shared->to;
  r.contact_uri =
      c.cfg.shared->contact.empty() ? c.contact : std::string_view(c.cfg.shared->contact);
  build_options(r, out);
}

Judgement OptionsProber::judge(const TargetConfig& cfg, const FinalResponse& answer) const {
  return {cfg.shared->healthy_codes.contains(answer.response.status_code), FailureReason::none, {}};
}

}  // namespace stx
