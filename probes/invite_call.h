#pragma once
// What a test call needs beyond its INVITE transaction, so that it never leaves a
// transaction or dialog open on the peer (RFC 3261 9.1, 13.2.2.4, 15, 17.1.1): the CANCEL
// after the first 18x, the ACK of every final response, the BYE after a 2xx, and until when
// the exchange keeps answering a peer that is still sending (Timer B after the INVITE).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "probes/clock.h"
#include "probes/timer_e.h"
#include "probes/transaction.h"
#include "sip/sip_response.h"

namespace stx {

// Timer B and Timer F: how long an INVITE or non-INVITE client transaction lives.
inline constexpr std::chrono::milliseconds kTimerB = 64 * kT1;

struct InviteCall {
  std::uint32_t seq = 0;   // names the call's timer entries; one per probe
  bool responded = false;  // any response to the INVITE: a CANCEL is allowed (RFC 3261 9.1)
  bool rang = false;       // a 180-189 arrived: the call reached its destination
  TimePoint first_response{};
  std::optional<std::chrono::nanoseconds> post_dial_delay;  // INVITE -> first 18x
  bool cancel_sent = false;
  bool final_seen = false;  // the INVITE got its final response (and its ACK)
  bool bye_sent = false;
  // The CANCEL or BYE still waiting for its answer; re-sent on Timer E over UDP.
  bool aux_pending = false;
  std::chrono::milliseconds aux_timer = kT1;
  TimePoint linger_until{};   // after this the peer's stragglers go unanswered
  std::string to_tag;         // of the final response, for the ACK and BYE
  std::string remote_target;  // Contact of a 2xx; the INVITE's Request-URI otherwise
  std::string ack;            // the last ACK sent, re-sent for a retransmitted final
  std::string aux;            // the CANCEL or BYE in flight
  // The exchange as the target page shows it: one line per message, sent or received, until
  // the probe's outcome; then the final response in full.
  std::string log;
  TimePoint sent_at{};
  char bye_branch[kBranchLength] = {};
  std::string_view bye_branch_view() const { return {bye_branch, sizeof bye_branch}; }
};

// Resets `c` for a new INVITE sent at `now`; the strings keep their capacity. `continuing`:
// the INVITE answers a digest challenge, and the log goes on.
inline void start_call(InviteCall& c, TimePoint now, bool continuing = false) {
  ++c.seq;
  c.responded = c.rang = c.cancel_sent = c.final_seen = c.bye_sent = c.aux_pending = false;
  c.post_dial_delay.reset();
  c.aux_timer = kT1;
  c.linger_until = now + kTimerB;
  c.to_tag.clear();
  c.remote_target.clear();
  c.ack.clear();
  c.aux.clear();
  if (continuing) return;
  c.log.clear();
  c.sent_at = now;
}

// Adds "+0.200 s <- SIP/2.0 180 Ringing" (or "->" for what we sent) to the call's log.
inline void log_message(InviteCall& c, TimePoint now, bool sent, std::string_view message) {
  if (c.log.size() > 4096) return;  // the page shows 2 KiB; a chatty peer gets no more
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - c.sent_at).count();
  char head[32];
  const int n =
      std::snprintf(head, sizeof head, "+%lld.%03lld s %s ", static_cast<long long>(ms / 1000),
                    static_cast<long long>(ms % 1000), sent ? "->" : "<-");
  c.log.append(head, static_cast<std::size_t>(std::max(n, 0)));
  c.log.append(message.substr(0, message.find("\r\n"))).append("\n");
}

// Adds "+0.200 s <- 180 Ringing (INVITE)" for a response to the call's log.
inline void log_response(InviteCall& c, TimePoint now, const SipResponse& r) {
  char line[160];
  const int n = std::snprintf(
      line, sizeof line, "%d %.*s (%.*s)", r.status_code,
      static_cast<int>(std::min<std::size_t>(r.reason.size(), 100)), r.reason.data(),
      static_cast<int>(std::min<std::size_t>(r.cseq_method.size(), 20)), r.cseq_method.data());
  log_message(c, now, false,
              std::string_view(line, std::min<std::size_t>(std::max(n, 0), sizeof line - 1)));
}

// A 180-189: the call is being alerted or has progress (183 with early media).
inline bool is_ringing(int code) { return code >= 180 && code <= 189; }

}  // namespace stx
