#pragma once
// One probe kind: the request it sends and how it judges the final answer. A prober knows
// nothing of schedules, thresholds, addresses or transports: the health checker
// (probes/health_checker.h) decides when to probe and what the outcomes add up to, and the
// exchanges (probes/exchanges.h) carry the request, retransmit it, match the answer and
// answer digest challenges. Kinds are registered in probes/probers.cc.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "probes/probe_result.h"
#include "sip/sip_request.h"
#include "sip/sip_response.h"

namespace stx {

// What the exchange knows when it writes a request: the target's settings, the flow the
// request leaves on (Via, Contact) and the transaction's identifiers.
struct RequestContext {
  const TargetConfig& cfg;
  std::string_view request_uri;    // the prober's request_uri(cfg)
  std::string_view via_transport;  // "UDP", "TCP", "TLS"
  std::string_view via_sent_by;
  std::string_view contact;  // our Contact on this flow
  std::string_view branch;
  std::string_view call_id;
  std::string_view from_tag;
  std::uint32_t cseq = 1;
  std::string_view authorization_name;  // empty unless answering a challenge
  std::string_view authorization_value;
};

// What the exchange knows of the final response it hands to judge().
struct FinalResponse {
  const SipResponse& response;
  // The request it answers carried our answer to a digest challenge: a 401/407 now means
  // the credentials were refused.
  bool credentials_sent = false;
  // A test call's 180-189 came before it: the call reached its destination.
  bool rang = false;
};

// The fields every kind's request takes from the context as they are: From, Via, the
// transaction's identifiers, User-Agent, extra headers and a digest answer. The prober adds
// what is its own (To, Contact, the builder that writes its method).
inline RequestFields common_request_fields(const RequestContext& c) {
  RequestFields r;
  r.request_uri = c.request_uri;
  r.from_uri = c.cfg.shared->from;
  r.from_tag = c.from_tag;
  r.via_transport = c.via_transport;
  r.via_sent_by = c.via_sent_by;
  r.branch = c.branch;
  r.call_id = c.call_id;
  r.cseq = c.cseq;
  r.user_agent = c.cfg.shared->user_agent;
  r.extra_headers = c.cfg.shared->headers;
  r.authorization_name = c.authorization_name;
  r.authorization_value = c.authorization_value;
  return r;
}

// A prober's verdict on a final response: healthy, or not and (optionally) why. A final
// code with reason none is an unhealthy code; the code itself is recorded either way.
struct Judgement {
  bool healthy = false;
  FailureReason reason = FailureReason::none;
  // A number read from the answer, handed to the sink in ProbeResult::contacts (exported as
  // sip_target_registered_contacts); nullopt: this kind reads none.
  std::optional<std::uint32_t> contacts;
};

class Prober {
 public:
  virtual ~Prober() = default;
  // The request method: the CSeq method an answer must echo, and the digest's method.
  virtual std::string_view method() const = 0;
  // The Request-URI, once per target; the digest's uri too. By default the target URI with
  // ruri_user when set.
  virtual std::string request_uri(const TargetConfig& cfg) const;
  // Writes the request into `out`, rebuilt per exchange into the same capacity.
  virtual void write_request(const RequestContext& c, std::string& out) const = 0;
  // Judges a final (>= 200) response, after any digest challenge has been answered.
  virtual Judgement judge(const TargetConfig& cfg, const FinalResponse& answer) const = 0;
};

}  // namespace stx
