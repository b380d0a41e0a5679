// TCP and TLS exchanges: one persistent connection per address, opened by the first probe
// and reused; no retransmissions (the transport is reliable, the cycle timeout still
// applies); RFC 5626 CRLF keepalives between probes; reconnects with backoff.
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "probes/engine_parts.h"

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
    case StreamFailure::reset:
      break;
  }
  return FailureReason::reset;
}

}  // namespace

void Engine::stream_connect(std::uint32_t path) {
  Path& p = *paths_[path];
  const Target& t = *targets_[p.target];
  StreamOptions o;
  o.transport = p.dest.transport;
  o.remote = boost::asio::ip::tcp::endpoint(p.dest.address, p.dest.port);
  if (const auto addr = source_address_of(*t.cfg, p.dest.address.is_v6())) {
    o.local = boost::asio::ip::tcp::endpoint(*addr, t.cfg->source_port);
  }
  if (p.dest.transport == Transport::tls) {
    auto it = std::find_if(tls_contexts_.begin(), tls_contexts_.end(),
                           [&](const auto& e) { return e.first == t.cfg->tls; });
    if (it == tls_contexts_.end()) {
      try {
        tls_contexts_.emplace_back(t.cfg->tls, make_tls_client_context(t.cfg->tls));
      } catch (const std::exception& e) {
        if (p.tx.open) path_fail(path, FailureReason::tls, e.what(), SteadyClock::now());
        return;
      }
      it = std::prev(tls_contexts_.end());
    }
    o.tls = it->second;
    // RFC 5922: the certificate must name the domain of the URI, not the SRV target.
    o.tls_name = t.cfg->tls.server_name.empty() ? t.cfg->parsed_uri.host : t.cfg->tls.server_name;
  }
  const std::uint32_t gen = p.generation;
  const std::uint32_t cg = ++p.conn_gen;
  StreamConnection::Handlers h;
  h.on_ready = [this, path, gen, cg](const TlsPeerInfo* tls) {
    if (!live_stream(path, gen, cg)) return;
    on_stream_ready(path, tls);
    arm_timer();
  };
  h.on_message = [this, path, gen, cg](std::string_view m, TimePoint at) {
    if (!live_stream(path, gen, cg)) return;
    on_stream_message(path, m, at);
    arm_timer();
  };
  h.on_pong = [this, path, gen, cg](TimePoint) {
    if (!live_stream(path, gen, cg)) return;
    on_pong(path);
    arm_timer();
  };
  h.on_invalid = [this, path, gen, cg](std::string_view why) {
    if (live_stream(path, gen, cg)) sink_.invalid_message(why, DropOrigin{paths_[path]->dest, {}});
  };
  h.on_failed = [this, path, gen, cg](StreamFailure f, std::string_view detail,
                                      const TlsPeerInfo* tls) {
    if (!live_stream(path, gen, cg)) return;
    on_stream_failed(path, f, detail, tls);
    arm_timer();
  };
  p.conn_ready = false;
  p.conn = StreamConnection::create(io_, std::move(o), std::move(h));
  p.conn->connect();
}

bool Engine::live_stream(std::uint32_t path, std::uint32_t gen, std::uint32_t conn_gen) const {
  return !stopped_ && path < paths_.size() && paths_[path] && paths_[path]->generation == gen &&
         paths_[path]->conn_gen == conn_gen && paths_[path]->conn != nullptr;
}

void Engine::on_stream_ready(std::uint32_t path, const TlsPeerInfo* tls) {
  Path& p = *paths_[path];
  const Target& t = *targets_[p.target];
  p.conn_ready = true;
  p.reconnect_backoff = std::chrono::seconds(0);
  if (tls != nullptr && t.background) sink_.tls_peer(p.target, path, *tls);
  if (const auto local = p.conn->local_endpoint()) {
    p.sent_by = sent_by_of(local->address(), local->port());
    p.contact = contact_of(t.from_user, p.sent_by, p.dest.transport, t.cfg->parsed_uri.secure);
  }
  if (p.tx.open) {  // a probe was waiting for this connection
    build_request(p);
    stream_send(path);
  }
}

void Engine::stream_send(std::uint32_t path) {
  Path& p = *paths_[path];
  p.tx.first_sent = SteadyClock::now();  // per send, as in udp_send
  p.conn->send(p.request);
  ++p.tx.transmissions;
}

void Engine::on_stream_message(std::uint32_t path, std::string_view data, TimePoint received) {
  SipResponse r;
  const Destination& from = paths_[path]->dest;
  if (!parse_or_count(data, r, from)) return;
  const auto slot = slot_from_branch(r.via_branch);
  if (!slot) {
    sink_.unmatched_response(to_string(Match::wrong_branch), DropOrigin{from, r.call_id});
    return;
  }
  // An answer must come back on the connection its request left on.
  const Match m = match_response(paths_[path]->tx, r, *slot == path);
  if (m != Match::ok) {
    sink_.unmatched_response(to_string(m), DropOrigin{from, r.call_id});
    return;
  }
  on_response(path, r, data, received);
}

void Engine::on_stream_failed(std::uint32_t path, StreamFailure failure, std::string_view detail,
                              const TlsPeerInfo* tls) {
  Path& p = *paths_[path];
  const Target& t = *targets_[p.target];
  if (tls != nullptr && t.background) sink_.tls_peer(p.target, path, *tls);
  const bool was_ready = p.conn_ready;
  close_stream(p);
  if (was_ready) p.reconnect_backoff = std::chrono::seconds(0);
  p.reconnect_backoff =
      std::min(kMaxReconnectBackoff, std::max(std::chrono::seconds(1), p.reconnect_backoff * 2));
  p.reconnect_at = SteadyClock::now() + p.reconnect_backoff;
  if (p.ping_outstanding) {
    p.ping_outstanding = false;
    if (t.background) sink_.keepalive_finished(p.target, path, false);
  }
  if (p.tx.open) {
    const std::string text(detail);  // `detail` may live in the connection just closed
    path_fail(path, reason_of(failure), text, SteadyClock::now());
  }
}

void Engine::on_keepalive_timer(std::uint32_t path, TimePoint now) {
  Path& p = *paths_[path];
  const Target& t = *targets_[p.target];
  queue_.push({now + t.cfg->keepalive_interval, path, p.generation, 0, TimerKind::keepalive});
  if (p.ping_outstanding) return;
  if (p.tx.open) {
    // Probes and keepalives on the same schedule would always collide: ping right after.
    p.ping_after_probe = true;
    return;
  }
  if (!p.conn) {
    // Keep the flow up between probes (as a PBX keeps its trunk), but back off from a
    // peer that keeps refusing.
    if (now >= p.reconnect_at) stream_connect(path);
    return;
  }
  send_ping(path, now);
}

void Engine::send_ping(std::uint32_t path, TimePoint now) {
  Path& p = *paths_[path];
  p.ping_after_probe = false;
  if (!p.conn_ready || p.ping_outstanding) return;
  p.conn->send_ping();
  p.ping_outstanding = true;
  ++p.ping_seq;
  const auto wait =
      std::min<std::chrono::milliseconds>(kPongWait, targets_[p.target]->cfg->keepalive_interval);
  queue_.push({now + wait, path, p.generation, p.ping_seq, TimerKind::pong_due});
}

void Engine::on_pong(std::uint32_t path) {
  Path& p = *paths_[path];
  if (!p.ping_outstanding) return;
  p.ping_outstanding = false;
  if (targets_[p.target]->background) sink_.keepalive_finished(p.target, path, true);
}

void Engine::close_stream(Path& p) {
  if (!p.conn) return;
  p.conn->close();
  p.conn.reset();
  p.conn_ready = false;
}

}  // namespace stx
