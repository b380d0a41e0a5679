// Test calls (method = "invite"): what follows the INVITE so that no transaction or dialog
// is left open on the peer. The first 180-189 is answered with CANCEL (RFC 3261 9.1) and
// the 487 with ACK (17.1.1.3); a 2xx gets ACK and BYE at once (13.2.2.4, 15.1.1); answers
// that come after the probe's outcome (a late ring, a retransmitted final) are still
// answered until Timer B from the INVITE. The INVITE itself is an ordinary exchange.
#include <algorithm>

#include "probes/exchange_session.h"
#include "sip/sip_request.h"

namespace stx {
namespace {

// The URI of header `name` ("To") in a request we wrote: "To: <uri>". The in-call requests
// copy the INVITE's, as RFC 3261 9.1 asks of a CANCEL.
std::string_view header_uri(std::string_view request, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = request.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    const std::string_view line = request.substr(pos);
    if (line.starts_with(name) && line.substr(name.size()).starts_with(": <")) {
      const std::size_t begin = pos + name.size() + 3;
      return request.substr(begin, request.find('>', begin) - begin);
    }
  }
  return {};
}

}  // namespace

// The fields every in-call request shares with the INVITE: From, Call-ID, Via sent-by.
RequestFields Exchanges::in_call_fields(const Session& s, std::string_view method) {
  RequestFields f;
  f.method = method;
  f.request_uri = s.target->request_uri();
  f.to_uri = header_uri(s.request_text(), "To");
  f.from_uri = s.cfg().shared->from;
  f.from_tag = s.tx().from_tag_view();
  f.via_transport = via_transport_of(s.dest.transport);
  f.via_sent_by = s.sent_by();
  f.branch = s.tx().branch_view();
  f.call_id = s.tx().call_id_view();
  f.cseq = s.tx().cseq;
  f.user_agent = s.cfg().shared->user_agent;
  return f;
}

void Exchanges::send_text(Session& s, std::string_view text) {
  if (s.tx_open() && s.call) log_message(*s.call, s_.clock.now(), true, text);
  if (s.dest.transport == Transport::udp) {
    // A lost in-call request is sent again by its timer or by the peer's retransmission.
    if (s.socket) udp_.send(*s.socket, s.remote(), text);
  } else if (s.flow && s.flow->conn && s.flow->conn_ready) {
    s.flow->conn->send(text);
  }
}

void Exchanges::call_provisional(std::uint32_t address, const SipResponse& r, TimePoint received) {
  Session& s = *sessions_[address];
  InviteCall& c = *s.call;
  log_response(c, received, r);
  if (!c.responded) {
    c.responded = true;
    c.first_response = received;
  }
  if (!is_ringing(r.status_code) || c.rang) return;
  c.rang = true;
  c.post_dial_delay = std::max(received - s.tx().first_sent, TimePoint::duration::zero());
  const auto after = s.cfg().shared->invite_cancel_after;
  if (after.count() == 0) {
    send_cancel(address, received);
  } else {
    s_.timers.push({received + after, address, s.generation, c.seq, TimerKind::call_cancel});
  }
}

void Exchanges::call_final(std::uint32_t address, const SipResponse& r, TimePoint received) {
  Session& s = *sessions_[address];
  InviteCall& c = *s.call;
  if (s.tx_open()) log_response(c, received, r);
  if (!c.responded) {
    c.responded = true;
    c.first_response = received;
  }
  c.final_seen = true;
  c.aux_pending = false;  // a CANCEL has nothing left to cancel
  c.to_tag.assign(r.to_tag);
  RequestFields ack = in_call_fields(s, kAck);
  ack.to_tag = c.to_tag;
  const bool success = r.status_code < 300;
  char branch[kBranchLength];
  if (success) {
    // The ACK of a 2xx is a transaction of its own, to the peer's Contact (RFC 3261 13.2.2.4),
    // and carries the INVITE's credentials.
    c.remote_target.assign(r.contact_uri.empty() ? s.target->request_uri() : r.contact_uri);
    write_branch(branch, address, ids_);
    ack.request_uri = c.remote_target;
    ack.branch = std::string_view(branch, sizeof branch);
    if (s.auth_sent) {
      ack.authorization_name = s.authorization_name();
      ack.authorization_value = *s.authorization;
    }
  }
  build_request(ack, c.ack);
  send_text(s, c.ack);
  if (success) send_bye(address, received);
}

bool Exchanges::call_straggler(std::uint32_t address, const SipResponse& r, bool same_source,
                               TimePoint received) {
  Session& s = *sessions_[address];
  if (!s.call || !s.in_flight || !same_source || r.call_id != s.tx().call_id_view()) {
    return false;
  }
  InviteCall& c = *s.call;
  if (r.via_branch == s.tx().branch_view() && r.cseq_number == s.tx().cseq) {
    if (r.cseq_method == kCancel) {
      if (s.tx_open()) log_response(c, received, r);
      if (!c.bye_sent) c.aux_pending = false;  // the CANCEL got its answer
      return true;
    }
    if (r.cseq_method != kInvite || s.tx_open() || received >= c.linger_until) return false;
    if (r.status_code < 200) {
      // A call that starts ringing after the probe gave up on it is cancelled all the same.
      if (!c.final_seen && !c.cancel_sent) send_cancel(address, received);
    } else if (!c.final_seen) {
      call_final(address, r, received);
    } else {
      send_text(s, c.ack);  // a retransmitted final: it did not get our ACK
    }
    return true;
  }
  if (c.bye_sent && r.via_branch == c.bye_branch_view() && r.cseq_method == kBye) {
    c.aux_pending = false;
    return true;
  }
  return false;
}

bool Exchanges::call_expired(std::uint32_t address, TimePoint now) {
  Session& s = *sessions_[address];
  InviteCall& c = *s.call;
  // Never leave it ringing: a CANCEL is allowed once anything came back (RFC 3261 9.1).
  if (c.responded && !c.cancel_sent && !c.final_seen) send_cancel(address, now);
  if (!c.rang) return false;
  ProbeResult result;
  result.success = true;
  result.post_dial_delay = c.post_dial_delay;
  result.detail = "it rang; no final response before the timeout";
  result.response = c.log;
  finish(address, result, now);
  return true;
}

void Exchanges::send_cancel(std::uint32_t address, TimePoint now) {
  Session& s = *sessions_[address];
  InviteCall& c = *s.call;
  c.cancel_sent = true;
  build_request(in_call_fields(s, kCancel), c.aux);
  send_in_call(address, now);
}

void Exchanges::send_bye(std::uint32_t address, TimePoint now) {
  Session& s = *sessions_[address];
  InviteCall& c = *s.call;
  c.bye_sent = true;
  write_branch(c.bye_branch, address, ids_);
  RequestFields bye = in_call_fields(s, kBye);
  bye.request_uri = c.remote_target;
  bye.to_tag = c.to_tag;
  bye.branch = c.bye_branch_view();
  bye.cseq = s.tx().cseq + 1;
  build_request(bye, c.aux);
  send_in_call(address, now);
}

void Exchanges::send_in_call(std::uint32_t address, TimePoint now) {
  Session& s = *sessions_[address];
  InviteCall& c = *s.call;
  c.aux_pending = true;
  c.aux_timer = kT1;
  send_text(s, c.aux);
  if (s.dest.transport == Transport::udp) {
    s_.timers.push({now + c.aux_timer, address, s.generation, c.seq, TimerKind::call_resend});
  }
}

void Exchanges::resend_in_call(std::uint32_t address, TimePoint now) {
  Session& s = *sessions_[address];
  InviteCall& c = *s.call;
  if (now >= c.linger_until) {  // Timer F: the peer is gone
    c.aux_pending = false;
    return;
  }
  send_text(s, c.aux);
  c.aux_timer = next_timer_e(c.aux_timer, false);
  s_.timers.push({now + c.aux_timer, address, s.generation, c.seq, TimerKind::call_resend});
}

TimePoint Exchanges::busy_until(std::uint32_t address) const {
  const Session* s = sessions_[address];
  return s != nullptr && s->call ? s->call->linger_until : TimePoint{};
}

}  // namespace stx
