#pragma once
// The INVITE probe: a test call that never becomes a conversation. It offers one PCMU stream
// on a discard port, and the exchange cancels it on the first 180/183 (after
// invite_cancel_after), ACKs the 487, and ends any 2xx at once with ACK and BYE
// (probes/invite_call.h). Healthy when the call rang, or on a final code in healthy_codes;
// a 401/407 to the request that carried our credentials fails as `auth`.
#include "probes/prober.h"

namespace stx {

class InviteProber final : public Prober {
 public:
  std::string_view method() const override;
  void write_request(const RequestContext& c, std::string& out) const override;
  Judgement judge(const TargetConfig& cfg, const FinalResponse& answer) const override;
};

}  // namespace stx
