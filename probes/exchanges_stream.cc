// TCP, TLS, WS and WSS exchanges: one persistent connection per address, opened by the
// first probe and reused; no retransmissions (the transport is reliable, the cycle timeout
// still applies); RFC 5626 CRLF keepalives (WebSocket pings) between probes; reconnects
// with backoff.
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "probes/exchange_session.h"
#include "probes/rfc3263.h"
#include "probes/stream_connection.h"
#include "probes/ws_connection.h"
#include "sip/sip_uri.h"

namespace stx {
namespace {

constexpr std::chrono::seconds kPongWait{10};  // RFC 5626 4.4.1
constexpr std::chrono::seconds kMaxReconnectBackoff{60};

FailureReason reason_of(StreamFailure f) {
  switch (f) {
    case StreamFailure::connect:
      return FailureReason::connect;
    case StreamFailure::tls:
      return FailureReason::tls;
    case StreamFailure::websocket:
      return FailureReason::websocket;
    case StreamFailure::reset:
      break;
  }
  return FailureReason::reset;
}

bool is_websocket(Transport t) { return t == Transport::ws || t == Transport::wss; }

// The upgrade request's Host (RFC 6455 4.1): the URI host, with its port unless default.
std::string ws_host_of(const SipUri& uri, Transport t) {
  std::string host = host_for_uri(uri.host, uri.host_kind);
  if (uri.port != 0 && uri.port != default_port(t)) host += ":" + std::to_string(uri.port);
  return host;
}

}  // namespace

void Exchanges::keep_tls(Session& s, const TlsPeerInfo* tls) {
  if (tls == nullptr) return;
  // Assigned into the session's strings: a reconnect to the same peer allocates nothing.
  if (!s.flow->tls) s.flow->tls = std::make_unique<TlsPeerInfo>();
  s.flow->tls->version = tls->version;
  s.flow->tls->cipher = tls->cipher;
  s.flow->tls->cert_expiry = tls->cert_expiry;
  s.flow->tls->verify_error = tls->verify_error;
  s.flow->has_tls = true;
}

ConnectionFactory Exchanges::stream_connections(boost::asio::io_context& io, Clock& clock) {
  return [&io, &clock](StreamOptions o, StreamHandlers h) -> std::shared_ptr<Connection> {
    if (is_websocket(o.transport))
      return WsConnection::create(io, clock, std::move(o), std::move(h));
    return StreamConnection::create(io, clock, std::move(o), std::move(h));
  };
}

void Exchanges::stream_connect(std::uint32_t address) {
  Session& s = *sessions_[address];
  s.flow->has_tls = false;  // until this connection's handshake says otherwise
  const TargetConfig& cfg = s.cfg();
  StreamOptions o;
  o.transport = s.dest.transport;
  o.remote = boost::asio::ip::tcp::endpoint(s.dest.address, s.dest.port);
  if (const auto addr = source_address_of(cfg, s.dest.address.is_v6())) {
    o.local = boost::asio::ip::tcp::endpoint(*addr, cfg.shared->source_port);
  }
  if (is_websocket(s.dest.transport)) {
    o.ws_host = ws_host_of(cfg.parsed_uri(), s.dest.transport);
    o.ws_path = cfg.shared->ws_path;
  }
  if (s.dest.transport == Transport::tls || s.dest.transport == Transport::wss) {
    auto it = std::find_if(tls_contexts_.begin(), tls_contexts_.end(),
                           [&](const auto& e) { return e.first == cfg.shared->tls; });
    if (it == tls_contexts_.end()) {
      try {
        tls_contexts_.emplace_back(cfg.shared->tls, make_tls_client_context(cfg.shared->tls));
      } catch (const std::exception& e) {
        if (s.tx_open()) fail(address, FailureReason::tls, e.what(), s_.clock.now());
        return;
      }
      it = std::prev(tls_contexts_.end());
    }
    o.tls = it->second;
    // RFC 5922: the certificate must name the domain of the URI, not the SRV target.
    o.tls_name =
        cfg.shared->tls.server_name.empty() ? cfg.parsed_uri().host : cfg.shared->tls.server_name;
  }
  const std::uint32_t gen = s.generation;
  const std::uint32_t cg = ++s.flow->conn_gen;
  StreamHandlers h;
  h.on_ready = [this, address, gen, cg](const TlsPeerInfo* tls) {
    if (!live_stream(address, gen, cg)) return;
    on_stream_ready(address, tls);
    rearm_();
  };
  h.on_message = [this, address, gen, cg](std::string_view m, TimePoint at) {
    if (!live_stream(address, gen, cg)) return;
    on_stream_message(address, m, at);
    rearm_();
  };
  h.on_pong = [this, address, gen, cg](TimePoint) {
    if (!live_stream(address, gen, cg)) return;
    flow_alive(address);
    rearm_();
  };
  h.on_invalid = [this, address, gen, cg](std::string_view why) {
    if (live_stream(address, gen, cg))
      s_.sink.invalid_message(why, DropOrigin{sessions_[address]->dest, {}});
  };
  h.on_failed = [this, address, gen, cg](StreamFailure f, std::string_view detail,
                                         const TlsPeerInfo* tls) {
    if (!live_stream(address, gen, cg)) return;
    on_stream_failed(address, f, detail, tls);
    rearm_();
  };
  s.flow->conn_ready = false;
  s.flow->conn = s_.connections(std::move(o), std::move(h));
  s.flow->conn->connect();
}

bool Exchanges::live_stream(std::uint32_t address, std::uint32_t gen,
                            std::uint32_t conn_gen) const {
  return !stopped_ && address < sessions_.size() && sessions_[address] &&
         sessions_[address]->generation == gen && sessions_[address]->flow->conn_gen == conn_gen &&
         sessions_[address]->flow->conn != nullptr;
}

void Exchanges::on_stream_ready(std::uint32_t address, const TlsPeerInfo* tls) {
  Session& s = *sessions_[address];
  const ProbeTarget& t = *s.target;
  s.flow->conn_ready = true;
  s.flow->reconnect_backoff = std::chrono::seconds(0);
  keep_tls(s, tls);
  if (tls != nullptr && t.background) s_.sink.tls_peer(t.slot, address, *tls);
  if (is_websocket(s.dest.transport)) {
    // RFC 7118 5.2: a WebSocket client has no address of its own to offer; a fresh
    // .invalid name per connection, as browsers do. Answers come back on the connection.
    s.local = identity_of(t.from_user(), invalid_host(ids_.next()), s.dest.transport,
                          s.cfg().parsed_uri().secure);
  } else if (const auto local = s.flow->conn->local_endpoint()) {
    s.local = identity_of(t.from_user(), sent_by_of(local->address(), local->port()),
                          s.dest.transport, s.cfg().parsed_uri().secure);
  }
  if (s.tx_open()) send(address, s_.clock.now());  // a probe was waiting for this connection
}

void Exchanges::stream_send(std::uint32_t address) {
  Session& s = *sessions_[address];
  s.tx().first_sent = s_.clock.now();  // per send, as in udp_send
  s.flow->conn->send(s.in_flight->request);
  ++s.tx().transmissions;
}

void Exchanges::on_stream_message(std::uint32_t address, std::string_view data,
                                  TimePoint received) {
  // Any SIP message proves the flow alive, as a pong does (RFC 5626 4.4.1).
  flow_alive(address);
  SipResponse r;
  const Destination& from = sessions_[address]->dest;
  if (!parse_or_count(data, r, from)) return;
  const auto slot = slot_from_branch(r.via_branch);
  if (!slot) {
    s_.sink.unmatched_response(to_string(Match::wrong_branch), DropOrigin{from, r.call_id});
    return;
  }
  // An answer must come back on the connection its request left on.
  const Session& s = *sessions_[address];
  const Match m = s.match(r, *slot == address);
  if (m != Match::ok) {
    if (call_straggler(address, r, *slot == address, received)) return;
    s_.sink.unmatched_response(to_string(m), DropOrigin{from, r.call_id});
    return;
  }
  on_response(address, r, data, received);
}

void Exchanges::on_stream_failed(std::uint32_t address, StreamFailure failure,
                                 std::string_view detail, const TlsPeerInfo* tls) {
  Session& s = *sessions_[address];
  const ProbeTarget& t = *s.target;
  keep_tls(s, tls);
  if (tls != nullptr && t.background) s_.sink.tls_peer(t.slot, address, *tls);
  const bool was_ready = s.flow->conn_ready;
  close_stream(s);
  if (was_ready) s.flow->reconnect_backoff = std::chrono::seconds(0);
  s.flow->reconnect_backoff = std::min(
      kMaxReconnectBackoff, std::max(std::chrono::seconds(1), s.flow->reconnect_backoff * 2));
  s.flow->reconnect_at = s_.clock.now() + s.flow->reconnect_backoff;
  if (s.flow->ping_outstanding) {
    s.flow->ping_outstanding = false;
    s.flow->pong_overdue = false;
    if (t.background) s_.sink.keepalive_finished(t.slot, address, false);
  }
  if (s.tx_open()) {
    const std::string text(detail);  // `detail` may live in the connection just closed
    fail(address, reason_of(failure), text, s_.clock.now());
  }
}

void Exchanges::on_keepalive_timer(std::uint32_t address, TimePoint now) {
  Session& s = *sessions_[address];
  s_.timers.push(
      {now + s.cfg().shared->keepalive_interval, address, s.generation, 0, TimerKind::keepalive});
  if (s.flow->ping_outstanding) return;
  if (s.tx_open()) {
    // Probes and keepalives on the same schedule would always collide: ping right after.
    s.flow->ping_after_probe = true;
    return;
  }
  if (!s.flow->conn) {
    // Keep the flow up between probes (as a PBX keeps its trunk), but back off from a
    // peer that keeps refusing.
    if (now >= s.flow->reconnect_at) stream_connect(address);
    return;
  }
  send_ping(address, now);
}

void Exchanges::send_ping(std::uint32_t address, TimePoint now) {
  Session& s = *sessions_[address];
  s.flow->ping_after_probe = false;
  if (!s.flow->conn_ready || s.flow->ping_outstanding) return;
  s.flow->conn->send_ping();
  s.flow->ping_outstanding = true;
  ++s.flow->ping_seq;
  s_.timers.push({now + kPongWait, address, s.generation, s.flow->ping_seq, TimerKind::pong_due});
}

void Exchanges::flow_alive(std::uint32_t address) {
  Session& s = *sessions_[address];
  if (!s.flow->ping_outstanding) return;
  s.flow->ping_outstanding = false;
  s.flow->pong_overdue = false;
  if (s.target->background) s_.sink.keepalive_finished(s.target->slot, address, true);
}

void Exchanges::on_pong_due(std::uint32_t address) {
  Session& s = *sessions_[address];
  if (s.tx_open()) {
    // Never close a flow under a probe: its answer may still come, and the probe's outcome
    // must come from its own exchange. Decided when the exchange ends (finish()).
    s.flow->pong_overdue = true;
    return;
  }
  // RFC 5626 4.4.1: no pong means the flow is dead; the next probe reconnects.
  s.flow->ping_outstanding = false;
  s.flow->pong_overdue = false;
  if (s.target->background) s_.sink.keepalive_finished(s.target->slot, address, false);
  close_stream(s);
}

void Exchanges::close_stream(Session& s) {
  if (!s.flow || !s.flow->conn) return;
  s.flow->conn->close();
  s.flow->conn.reset();
  s.flow->conn_ready = false;
}

}  // namespace stx
