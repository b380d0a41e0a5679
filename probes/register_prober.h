#pragma once
// The REGISTER probe (RFC 3261 10.2.3, "fetching bindings"): "do my credentials work, and is
// my PBX registered right now?". It sends a REGISTER without Contact (and without Expires),
// which a registrar answers with the address of record's current bindings and changes
// nothing. Healthy on a 2xx listing at least min_contacts bindings; a 401/407 to the request
// that carried our credentials fails as `auth`, too few bindings as `no_binding`; any other
// code is judged by healthy_codes.
#include "probes/prober.h"

namespace stx {

class RegisterProber final : public Prober {
 public:
  std::string_view method() const override;
  // The registrar: the target URI without its user part (RFC 3261 10.2).
  std::string request_uri(const TargetConfig& cfg) const override;
  void write_request(const RequestContext& c, std::string& out) const override;
  Judgement judge(const TargetConfig& cfg, const FinalResponse& answer) const override;
};

}  // namespace stx
