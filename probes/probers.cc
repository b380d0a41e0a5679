#include "probes/probers.h"

#include "probes/invite_prober.h"
#include "probes/options_prober.h"
#include "probes/register_prober.h"
#include "sip/sip_uri.h"

namespace stx {

std::string Prober::request_uri(const TargetConfig& cfg) const {
  return cfg.shared->ruri_user.empty()
             ? cfg.uri
             : request_uri_with_user(cfg.parsed_uri(), cfg.uri, cfg.shared->ruri_user);
}

const Prober& prober_for(ProbeMethod method) {
  static const OptionsProber options;
  static const RegisterProber register_prober;
  static const InviteProber invite;
  switch (method) {  // one line per kind
    case ProbeMethod::options:
      return options;
    case ProbeMethod::register_:
      return register_prober;
    case ProbeMethod::invite:
      return invite;
  }
  return options;
}

}  // namespace stx
