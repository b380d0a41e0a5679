// The exchanges' common part: opening and closing addresses, starting an exchange, writing
// its request through the prober, judging the answer, answering a digest challenge and
// handing the outcome to the listener. Transports are in exchanges_udp.cc and
// exchanges_stream.cc.
#include "probes/exchanges.h"

#include <algorithm>

#include "probes/exchange_session.h"
#include "sip/digest_auth.h"
#include "sip/sip_request.h"

namespace stx {

std::string_view via_transport_of(Transport t) {
  switch (t) {
    case Transport::tcp:
      return "TCP";
    case Transport::tls:
      return "TLS";
    case Transport::ws:
      return "WS";
    case Transport::wss:
      return "WSS";
    case Transport::udp:
      break;
  }
  return "UDP";
}

std::optional<boost::asio::ip::address> source_address_of(const TargetConfig& cfg, bool v6) {
  if (cfg.shared->source_address.empty() && cfg.shared->source_port == 0) return std::nullopt;
  if (cfg.shared->source_address.empty()) {
    return v6 ? boost::asio::ip::address(boost::asio::ip::address_v6::any())
              : boost::asio::ip::address(boost::asio::ip::address_v4::any());
  }
  boost::system::error_code ignored;  // the config loader has checked it is an IP literal
  return boost::asio::ip::make_address(cfg.shared->source_address, ignored);
}

std::string sent_by_of(const boost::asio::ip::address& a, std::uint16_t port) {
  return host_for_uri(a.to_string(), a.is_v6() ? HostKind::ipv6 : HostKind::ipv4) + ":" +
         std::to_string(port);
}

std::string invalid_host(std::uint64_t random) {
  std::string host(16, '0');
  IdGenerator::hex(random, host.data(), 16);
  return host + ".invalid";
}

std::shared_ptr<const LocalIdentity> identity_of(std::string_view from_user, std::string sent_by,
                                                 std::optional<Transport> transport, bool sips) {
  std::string c = sips ? "sips:" : "sip:";
  if (!from_user.empty()) c.append(from_user).append("@");
  c.append(sent_by);
  // sips: implies TLS (RFC 5630) but not WebSocket: wss is named.
  if (transport && (!sips || *transport == Transport::wss)) {
    c.append(";transport=").append(to_string(*transport));
  }
  return std::make_shared<const LocalIdentity>(
      LocalIdentity{.sent_by = std::move(sent_by), .contact = std::move(c)});
}

Exchanges::Exchanges(Services services, ExchangeListener& listener,
                     std::function<void()> on_readable, std::function<void()> rearm)
    : s_(std::move(services)),
      listener_(listener),
      rearm_(std::move(rearm)),
      udp_(s_.io, s_.clock,
           UdpTransport::Handlers{
               [this](const UdpEndpoint& from, std::string_view data, bool truncated,
                      TimePoint at) { on_datagram(from, data, truncated, at); },
               [this](const UdpEndpoint& dest, std::string_view original, int error) {
                 on_transport_error(dest, original, error);
               },
               std::move(on_readable)}) {}

Exchanges::~Exchanges() {
  try {
    stop();
  } catch (...) {  // closing sockets during destruction: nothing left to report it to
  }
}

void Exchanges::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (std::uint32_t address = 0; address < sessions_.size(); ++address) {
    if (Session* s = sessions_[address]) close_stream(*s);
  }
  udp_.close();
  queued_sends_.clear();
  batching_ = false;
}

void Exchanges::open(std::uint32_t address, std::uint32_t generation, const ProbeTarget& target,
                     const Destination& destination) {
  if (address >= sessions_.size()) {
    sessions_.resize(address + 1);
    open_tx_.resize(address + 1);
  }
  open_tx_[address] = 0;
  Session& s = sessions_.emplace(address);
  s.target = &target;
  s.generation = generation;
  s.dest = destination;
  if (target.prober->method() == kInvite) s.call = std::make_unique<InviteCall>();
  if (destination.transport != Transport::udp) s.flow = std::make_unique<Session::Flow>();
  const std::chrono::milliseconds keepalive = target.cfg->shared->keepalive_interval;
  if (destination.transport != Transport::udp && target.background && keepalive.count() > 0) {
    s_.timers.push({s_.clock.now() + keepalive, address, generation, 0, TimerKind::keepalive});
  }
}

const Destination& Exchanges::destination(std::uint32_t address) const {
  return sessions_[address]->dest;
}

void Exchanges::close(std::uint32_t address) {
  Session& s = *sessions_[address];
  if (s.registered) unlink_remote(address);
  close_stream(s);
  sessions_.erase(address);  // its timer entries go stale: the session is gone
  open_tx_[address] = 0;
}

void Exchanges::start(std::uint32_t address, TimePoint now, TimePoint deadline) {
  Session& s = *sessions_[address];
  take_in_flight(s);
  open_transaction(s.tx(), address, ids_, now, s.cfg().shared->timeout);
  open_tx_[address] = tx_key(s.generation, s.tx().seq);
  s.tx().deadline = deadline;
  s.auth_sent = false;
  if (s.call) start_call(*s.call, now);
  if (s.dest.transport == Transport::udp) {
    if (!s.socket || now - s.routed_at >= kRouteRefresh) {
      if (const std::error_code ec = udp_route(s, now)) {
        fail(address, FailureReason::send_error, ec.message(), now);
        return;
      }
    }
    send(address, now);
  } else if (s.flow->conn_ready) {
    send(address, now);
  } else if (!s.flow->conn) {
    stream_connect(address);  // the request goes out when the connection is ready
  }
}

void Exchanges::expire(std::uint32_t address, TimePoint now) {
  Session& s = *sessions_[address];
  if (s.flow && !s.flow->conn_ready) {
    close_stream(s);  // a connection that did not come up in time starts over next time
    fail(address, FailureReason::connect, "no connection before the timeout", now);
    return;
  }
  // A half-received message would swallow the next answer: start over on a new flow.
  if (s.flow && s.flow->conn && s.flow->conn->mid_message()) close_stream(s);
  if (s.call && call_expired(address, now)) return;
  fail(address, FailureReason::timeout, "no final response", now);
}

bool Exchanges::live(const TimerEntry& e) const {
  // Most of these are answered probes' retransmissions: told from the dense table alone.
  if (e.kind == TimerKind::retransmit) {
    return e.slot < open_tx_.size() && open_tx_[e.slot] == tx_key(e.gen, e.seq);
  }
  if (e.slot >= sessions_.size() || !sessions_[e.slot] || sessions_[e.slot]->generation != e.gen) {
    return false;
  }
  const Session& s = *sessions_[e.slot];
  switch (e.kind) {
    case TimerKind::pong_due:
      return s.flow && s.flow->ping_outstanding && s.flow->ping_seq == e.seq;
    case TimerKind::call_cancel:
      return s.call && s.call->seq == e.seq && !s.call->cancel_sent && !s.call->final_seen;
    case TimerKind::call_resend:
      return s.call && s.call->seq == e.seq && s.call->aux_pending;
    default:
      return true;
  }
}

void Exchanges::fire(const TimerEntry& e, TimePoint now) {
  switch (e.kind) {
    case TimerKind::retransmit:
      udp_retransmit(e.slot, e.due);
      break;
    case TimerKind::keepalive:
      on_keepalive_timer(e.slot, now);
      break;
    case TimerKind::pong_due:
      on_pong_due(e.slot);
      break;
    case TimerKind::call_cancel:
      send_cancel(e.slot, now);
      break;
    case TimerKind::call_resend:
      resend_in_call(e.slot, now);
      break;
    default:
      break;
  }
}

void Exchanges::take_in_flight(Session& s) {
  if (s.in_flight != nullptr) return;  // a test call's, kept since its last exchange
  if (spare_in_flight_.empty()) {
    s.in_flight = std::make_unique<InFlight>();
  } else {
    s.in_flight = std::move(spare_in_flight_.back());
    spare_in_flight_.pop_back();
  }
  s.in_flight->tx.seq = s.seq;
  s.in_flight->tx.cseq = s.cseq;
}

void Exchanges::write_request(Session& s) {
  const ProbeTarget& t = *s.target;
  const RequestContext c{
      .cfg = s.cfg(),
      .request_uri = t.request_uri(),
      .via_transport = via_transport_of(s.dest.transport),
      .via_sent_by = s.sent_by(),
      .contact = s.contact(),
      .branch = s.tx().branch_view(),
      .call_id = s.tx().call_id_view(),
      .from_tag = s.tx().from_tag_view(),
      .cseq = s.tx().cseq,
      .authorization_name = s.auth_sent ? s.authorization_name() : std::string_view(),
      .authorization_value = s.auth_sent ? std::string_view(*s.authorization) : std::string_view(),
  };
  t.prober->write_request(c, s.in_flight->request);
}

void Exchanges::send(std::uint32_t address, TimePoint now) {
  Session& s = *sessions_[address];
  write_request(s);
  if (s.call) log_message(*s.call, now, true, s.in_flight->request);
  if (s.dest.transport == Transport::udp) {
    udp_send(address);
  } else {
    stream_send(address);
  }
}

void Exchanges::finish(std::uint32_t address, ProbeResult& result, TimePoint now) {
  Session& s = *sessions_[address];
  Transaction& tx = s.tx();
  tx.open = false;
  open_tx_[address] = 0;
  result.duration = now - tx.started;
  result.transmissions = tx.transmissions;
  // The views stay valid when the record changes hands: moving the pointer moves no text.
  result.request = s.request_text();
  result.request_has_credentials = s.auth_sent;
  result.call_id = tx.call_id_view();
  std::unique_ptr<InFlight> done;  // back to the spares once reported; a call keeps its own
  if (!s.call) {
    s.seq = tx.seq;
    s.cseq = tx.cseq;
    done = std::move(s.in_flight);
  }
  result.destination = s.dest;
  if (Session::Flow* f = s.flow.get()) {
    result.tls = f->has_tls ? f->tls.get() : nullptr;
    if (f->pong_overdue) {
      // The pong deadline passed during the exchange and nothing has come back since: the
      // flow is dead, and with no probe left on it, it can go now.
      f->pong_overdue = false;
      if (f->ping_outstanding) on_pong_due(address);
    }
    if (f->ping_after_probe) send_ping(address, now);
  }
  listener_.exchange_finished(address, result, now);  // may close this address: last
  if (done != nullptr && spare_in_flight_.size() < sessions_.size()) {
    done->request.clear();
    spare_in_flight_.push_back(std::move(done));
  }
}

void Exchanges::fail(std::uint32_t address, FailureReason reason, std::string_view detail,
                     TimePoint now) {
  ProbeResult r;
  r.reason = reason;
  r.detail = detail;
  finish(address, r, now);
}

bool Exchanges::parse_or_count(std::string_view data, SipResponse& r, const Destination& from) {
  const SipParseError err = parse_sip_response(data, r);
  if (err == SipParseError::ok) return true;
  s_.sink.invalid_message(to_string(err), DropOrigin{from, r.call_id});
  return false;
}

void Exchanges::on_response(std::uint32_t address, const SipResponse& r, std::string_view data,
                            TimePoint received) {
  Session& s = *sessions_[address];
  if (r.status_code < 200) {  // provisional: the transaction goes on (UDP: at T2)
    s.tx().provisional_seen = true;
    if (s.call) call_provisional(address, r, received);
    return;
  }
  // A call's final response is ACKed (a 2xx also ends with BYE) whatever comes next.
  if (s.call) call_final(address, r, received);
  if ((r.status_code == 401 || r.status_code == 407) && answer_challenge(address, r, received)) {
    if (s.call) start_call(*s.call, received, true);  // a new request, a new call
    return;
  }
  if (received >= s.tx().deadline) {
    // It arrived after the deadline; only the loop had not run the timeout yet.
    s_.sink.unmatched_response(to_string(Match::no_open_probe), DropOrigin{s.dest, r.call_id});
    return;
  }
  const Judgement j =
      s.target->prober->judge(s.cfg(), FinalResponse{r, s.auth_sent, s.call && s.call->rang});
  ProbeResult result;
  result.success = j.healthy;
  // Policy, not the prober's: any kind's unhealthy answer in degraded_codes is "alive, refusing".
  result.degraded = !j.healthy && j.reason == FailureReason::none &&
                    s.cfg().shared->degraded_codes.contains(r.status_code);
  result.reason = j.reason;
  result.contacts = j.contacts;
  result.status_code = r.status_code;
  // Never negative, even if the wall clock stepped between arrival and reading.
  // A call's RTT ends at its first response: ringing time says nothing of the network.
  const TimePoint answered = s.call ? s.call->first_response : received;
  result.rtt = std::max(answered - s.tx().first_sent, TimePoint::duration::zero());
  if (s.call) result.post_dial_delay = s.call->post_dial_delay;
  result.server = r.server;
  result.allow = r.allow;
  result.supported = r.supported;
  result.accept = r.accept;
  result.retry_after = r.retry_after;
  result.response = data.substr(0, r.message_length);
  if (s.call) {
    // The target page shows a call whole: what went back and forth, then the final answer.
    s.call->log.append("\n").append(result.response);
    result.response = s.call->log;
  }
  finish(address, result, received);
}

bool Exchanges::answer_challenge(std::uint32_t address, const SipResponse& r, TimePoint now) {
  Session& s = *sessions_[address];
  const ProbeTarget& t = *s.target;
  if (!s.cfg().shared->auth || s.auth_sent) return false;  // one challenge per probe, as a UA does
  std::string error;
  // RFC 8760: SHA-256 is preferred when the server offers both.
  const auto challenge =
      pick_challenge(std::span<const std::string_view>(r.challenges, r.challenge_count), &error);
  if (!challenge) return false;  // nothing we can answer: the 401/407 is the final response
  char cnonce[16];
  IdGenerator::hex(ids_.next(), cnonce, sizeof cnonce);
  if (!s.authorization) s.authorization = std::make_unique<std::string>();
  if (!write_digest_authorization(*challenge, *s.cfg().shared->auth, t.prober->method(),
                                  t.request_uri(), std::string_view(cnonce, sizeof cnonce), 1,
                                  *s.authorization)) {
    return false;
  }
  s.proxy_auth = r.status_code == 407;
  s.auth_sent = true;
  continue_transaction(s.tx(), address, ids_);
  open_tx_[address] = tx_key(s.generation, s.tx().seq);
  send(address, now);
  return true;
}

}  // namespace stx
