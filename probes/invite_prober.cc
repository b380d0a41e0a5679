#include "probes/invite_prober.h"

#include <functional>

#include "sip/sip_request.h"

namespace stx {
namespace {

// The host of a Via sent-by, for the SDP connection line: "[2001:db8::1]:5060" ->
// "2001:db8::1". A name (".invalid" over WebSocket) says nothing: no address at all.
std::string_view media_address(std::string_view sent_by) {
  if (sent_by.starts_with('[')) return sent_by.substr(1, sent_by.find(']') - 1);
  const std::string_view host = sent_by.substr(0, sent_by.find(':'));
  const bool ipv4 = !host.empty() && host.find_first_not_of("0123456789.") == std::string_view::npos;
  return ipv4 ? host : std::string_view("0.0.0.0");
}

}  // namespace

std::string_view InviteProber::method() const { return kInvite; }

void InviteProber::write_request(const RequestContext& c, std::string& out) const {
  RequestFields r = common_request_fields(c);
  // A test number (ruri_user) is the one called: To names it, as a phone's INVITE does.
  r.to_uri = c.cfg.shared->to.empty() ? c.request_uri : std::string_view(c.cfg.shared->to);
  r.contact_uri =
      c.cfg.shared->contact.empty() ? c.contact : std::string_view(c.cfg.shared->contact);
  build_invite(r, media_address(c.via_sent_by), std::hash<std::string_view>{}(c.call_id) >> 1, out);
}

Judgement InviteProber::judge(const TargetConfig& cfg, const FinalResponse& answer) const {
  const int code = answer.response.status_code;
  if ((code == 401 || code == 407) && answer.credentials_sent) {
    return {false, FailureReason::auth, {}};
  }
  return {answer.rang || cfg.shared->healthy_codes.contains(code), FailureReason::none, {}};
}

}  // namespace stx
