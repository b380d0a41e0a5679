#pragma once
// The OPTIONS probe (RFC 3261 11): "are you there and willing?", as Asterisk's qualify and
// Kamailio's dispatcher ask it. Healthy when the final code is in healthy_codes.
#include "probes/prober.h"

namespace stx {

class OptionsProber final : public Prober {
 public:
  std::string_view method() const override;
  void write_request(const RequestContext& c, std::string& out) const override;
  Judgement judge(const TargetConfig& cfg, const FinalResponse& answer) const override;
};

}  // namespace stx
