#include "probes/register_prober.h"

#include "sip/sip_request.h"
#include "sip/sip_uri.h"

namespace stx {

std::string_view RegisterProber::method() const { return kRegister; }

std::string RegisterProber::request_uri(const TargetConfig& cfg) const {
  return request_uri_without_user(cfg.parsed_uri(), cfg.uri);
}

void RegisterProber::write_request(const RequestContext& c, std::string& out) const {
  RequestFields r = common_request_fields(c);
  r.to_uri =
      c.cfg.shared->aor.empty() ? c.cfg.shared->from : c.cfg.shared->aor;  // the address of record
  build_register(r, out);  // no Contact, no Expires: a fetch, whatever the config says
}

Judgement RegisterProber::judge(const TargetConfig& cfg, const FinalResponse& answer) const {
  const SipResponse& r = answer.response;
  if ((r.status_code == 401 || r.status_code == 407) && answer.credentials_sent) {
    return {false, FailureReason::auth, {}};
  }
  if (r.status_code < 200 || r.status_code > 299) {
    return {cfg.shared->healthy_codes.contains(r.status_code), FailureReason::none, {}};
  }
  // A Contact list that cannot be counted proves no binding.
  if (r.contacts_malformed) {
    return {cfg.shared->min_contacts == 0,
            cfg.shared->min_contacts == 0 ? FailureReason::none : FailureReason::no_binding,
            {}};
  }
  if (r.contact_count < static_cast<std::uint32_t>(cfg.shared->min_contacts)) {
    return {false, FailureReason::no_binding, r.contact_count};
  }
  return {true, FailureReason::none, r.contact_count};
}

}  // namespace stx
