// One address of a target: starting its exchange, building the request, answering a
// digest challenge, and recording the outcome into the address's own health.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "probes/engine_parts.h"
#include "sip/digest_auth.h"
#include "sip/sip_request.h"

namespace stx {
namespace {

std::string_view via_transport(Transport t) {
  switch (t) {
    case Transport::tcp:
      return "TCP";
    case Transport::tls:
      return "TLS";
    case Transport::udp:
      break;
  }
  return "UDP";
}

}  // namespace

std::optional<boost::asio::ip::address> source_address_of(const TargetConfig& cfg, bool v6) {
  if (cfg.source_address.empty() && cfg.source_port == 0) return std::nullopt;
  if (cfg.source_address.empty()) {
    return v6 ? boost::asio::ip::address(boost::asio::ip::address_v6::any())
              : boost::asio::ip::address(boost::asio::ip::address_v4::any());
  }
  boost::system::error_code ignored;  // the config loader has checked it is an IP literal
  return boost::asio::ip::make_address(cfg.source_address, ignored);
}

std::string sent_by_of(const boost::asio::ip::address& a, std::uint16_t port) {
  return host_for_uri(a.to_string(), a.is_v6() ? HostKind::ipv6 : HostKind::ipv4) + ":" +
         std::to_string(port);
}

std::string contact_of(std::string_view from_user, std::string_view sent_by,
                       std::optional<Transport> transport, bool sips) {
  std::string c = sips ? "sips:" : "sip:";
  if (!from_user.empty()) c.append(from_user).append("@");
  c.append(sent_by);
  if (transport && !sips) c.append(";transport=").append(to_string(*transport));
  return c;
}

std::uint32_t Engine::add_path(std::uint32_t target, const Destination& d) {
  const std::uint32_t slot = take_slot(paths_, free_paths_);
  auto p = std::make_unique<Path>();
  p->target = target;
  p->generation = new_generation();
  p->dest = d;
  const Target& t = *targets_[target];
  if (d.transport != Transport::udp && t.background && t.cfg->keepalive_interval.count() > 0) {
    queue_.push({SteadyClock::now() + t.cfg->keepalive_interval, slot, p->generation, 0,
                 TimerKind::keepalive});
  }
  paths_[slot] = std::move(p);
  if (t.background) sink_.address_added(target, slot, d);
  return slot;
}

void Engine::remove_path(std::uint32_t path) {
  Path& p = *paths_[path];
  if (p.registered) forget_address(p, path);
  close_stream(p);
  if (targets_[p.target]->background) sink_.address_removed(p.target, path);
  paths_[path].reset();  // its timer entries go stale: the generation no longer matches
  free_paths_.push_back(path);
}

void Engine::start_path_probe(std::uint32_t path, TimePoint now) {
  Path& p = *paths_[path];
  const Target& t = *targets_[p.target];
  open_transaction(p.tx, path, ids_, now, t.cfg->timeout);
  p.tx.deadline = t.deadline;
  p.auth_sent = false;
  if (p.dest.transport == Transport::udp) {
    if (!p.socket || now - p.routed_at >= kRouteRefresh) {
      if (const std::error_code ec = udp_route(p, now)) {
        path_fail(path, FailureReason::send_error, ec.message(), now);
        return;
      }
    }
    build_request(p);
    udp_send(path, now);
    return;
  }
  if (p.conn_ready) {
    build_request(p);
    stream_send(path);
  } else if (!p.conn) {
    stream_connect(path);  // the request goes out when the connection is ready
  }
}

void Engine::build_request(Path& p) {
  const Target& t = *targets_[p.target];
  const TargetConfig& cfg = *t.cfg;
  OptionsRequest r;
  r.request_uri = t.request_uri;
  r.to_uri = cfg.to.empty() ? cfg.uri : cfg.to;
  r.from_uri = cfg.from;
  r.from_tag = p.tx.from_tag_view();
  r.via_transport = via_transport(p.dest.transport);
  r.via_sent_by = p.sent_by;
  r.branch = p.tx.branch_view();
  r.call_id = p.tx.call_id_view();
  r.cseq = p.tx.cseq;
  r.contact_uri = cfg.contact.empty() ? std::string_view(p.contact) : cfg.contact;
  r.user_agent = cfg.user_agent;
  r.extra_headers = cfg.headers;
  if (p.auth_sent) {
    r.authorization_name = p.authorization_name;
    r.authorization_value = p.authorization;
  }
  build_options(r, p.request);
}

void Engine::path_finish(std::uint32_t path, ProbeResult& result, TimePoint now) {
  Path& p = *paths_[path];
  const std::uint32_t target = p.target;
  Target& t = *targets_[target];
  p.tx.open = false;
  result.duration = now - p.tx.started;
  result.transmissions = p.tx.transmissions;
  result.success = result.status_code != 0 && t.cfg->healthy_codes.contains(result.status_code);
  p.result = result;
  p.result.request = p.request;
  p.result.call_id = p.tx.call_id_view();
  const bool reported_now = t.cycle_open && p.in_cycle && !p.done && t.outstanding == 1;
  if (!reported_now) {
    // The cycle reports this exchange after the receive buffer is reused: own copies. (Kept
    // only then: a copy of each address's last answer would cost ~1 KB per target.)
    p.response_text.assign(result.response);
    p.server_text.assign(result.server);
    p.detail_text.assign(result.detail);
    p.result.response = p.response_text;
    p.result.server = p.server_text;
    p.result.detail = p.detail_text;
  }
  const StateChange change =
      p.state.record(result.success, t.cfg->failures_before_down, t.cfg->successes_before_up);
  if (t.background) sink_.address_finished(target, path, p.result, change, p.state);
  if (p.ping_after_probe) send_ping(path, now);
  if (t.cycle_open && p.in_cycle && !p.done) {
    p.done = true;
    if (--t.outstanding == 0) finish_cycle(target, now);
  }
}

void Engine::path_fail(std::uint32_t path, FailureReason reason, std::string_view detail,
                       TimePoint now) {
  ProbeResult r;
  r.reason = reason;
  r.detail = detail;
  path_finish(path, r, now);
}

bool Engine::parse_or_count(std::string_view data, SipResponse& r, const Destination& from) {
  const SipParseError err = parse_sip_response(data, r);
  if (err == SipParseError::ok) return true;
  sink_.invalid_message(to_string(err), DropOrigin{from, r.call_id});
  return false;
}

void Engine::on_response(std::uint32_t path, const SipResponse& r, std::string_view data,
                         TimePoint received) {
  Path& p = *paths_[path];
  if (r.status_code < 200) {  // provisional: the transaction goes on (UDP: at T2)
    p.tx.provisional_seen = true;
    return;
  }
  if ((r.status_code == 401 || r.status_code == 407) && answer_challenge(path, r, received)) {
    return;
  }
  if (received >= p.tx.deadline) {
    // It arrived after the deadline; only the loop had not run the timeout yet.
    sink_.unmatched_response(to_string(Match::no_open_probe), DropOrigin{p.dest, r.call_id});
    return;
  }
  ProbeResult result;
  result.status_code = r.status_code;
  // Never negative, even if the wall clock stepped between arrival and reading.
  result.rtt = std::max(received - p.tx.first_sent, TimePoint::duration::zero());
  result.server = r.server;
  result.retry_after = r.retry_after;
  result.response = data.substr(0, r.message_length);
  path_finish(path, result, received);
}

bool Engine::answer_challenge(std::uint32_t path, const SipResponse& r, TimePoint now) {
  Path& p = *paths_[path];
  const Target& t = *targets_[p.target];
  if (!t.cfg->auth || p.auth_sent) return false;  // one challenge per probe, as a UA does
  std::string error;
  // RFC 8760: SHA-256 is preferred when the server offers both.
  const auto challenge =
      pick_challenge(std::span<const std::string_view>(r.challenges, r.challenge_count), &error);
  if (!challenge) return false;  // nothing we can answer: the 401/407 is the final response
  char cnonce[16];
  IdGenerator::hex(ids_.next(), cnonce, sizeof cnonce);
  if (!write_digest_authorization(*challenge, *t.cfg->auth, "OPTIONS", t.request_uri,
                                  std::string_view(cnonce, sizeof cnonce), 1, p.authorization)) {
    return false;
  }
  p.authorization_name = r.status_code == 407 ? "Proxy-Authorization" : "Authorization";
  p.auth_sent = true;
  continue_transaction(p.tx, path, ids_);
  build_request(p);
  if (p.dest.transport == Transport::udp) {
    udp_send(path, now);
  } else {
    stream_send(path);
  }
  return true;
}

}  // namespace stx
