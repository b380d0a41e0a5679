// UDP exchanges: routing (our Via address), sending with Timer E retransmissions, and
// matching datagrams and ICMP errors to the address whose probe they answer.
#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <string>
#include <system_error>

#include "probes/engine_parts.h"
#include "sip/keepalive.h"

namespace stx {
namespace {

bool is_unreachable_errno(int e) {
  return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN ||
         e == ENONET || e == EACCES || e == EPERM;
}

// strerror is not thread-safe (the web server has its own thread); this is.
std::string errno_text(int e) { return std::system_category().message(e); }

}  // namespace

std::error_code Engine::udp_route(Path& p, TimePoint now) {
  const Target& t = *targets_[p.target];
  const UdpEndpoint remote(p.dest.address, p.dest.port);
  std::optional<UdpEndpoint> source;
  if (const auto addr = source_address_of(*t.cfg, remote.address().is_v6())) {
    source = UdpEndpoint(*addr, t.cfg->source_port);
  }
  std::error_code ec;
  p.socket = transport_.socket_for(remote, source ? &*source : nullptr, ec);
  if (!p.socket) return ec ? ec : std::make_error_code(std::errc::bad_file_descriptor);
  p.remote = remote;
  const auto local = transport_.local_endpoint_for(*p.socket, remote, ec);
  if (!local) return ec ? ec : std::make_error_code(std::errc::network_unreachable);
  p.routed_at = now;
  p.sent_by = sent_by_of(local->address(), local->port());
  p.contact = contact_of(t.from_user, p.sent_by, std::nullopt, false);  // sips: never on UDP
  return {};
}

void Engine::udp_send(std::uint32_t path, TimePoint now) {
  Path& p = *paths_[path];
  if (!p.registered) {
    by_address_.emplace(key_of(p.remote), path);
    p.registered = true;
  }
  // The clock is read per send, not per wakeup: one wakeup may send hundreds of probes
  // after a stall, and each RTT must start when its own request left.
  p.tx.first_sent = SteadyClock::now();
  const int err = transport_.send(*p.socket, p.remote, p.request);
  if (err != 0) {
    path_fail(path, is_unreachable_errno(err) ? FailureReason::refused : FailureReason::send_error,
              errno_text(err), now);
    return;
  }
  ++p.tx.transmissions;
  p.tx.timer_e = kT1;
  queue_.push({now + p.tx.timer_e, path, p.generation, p.tx.seq, TimerKind::retransmit});
}

void Engine::udp_retransmit(std::uint32_t path, TimePoint due) {
  Path& p = *paths_[path];
  if (due >= p.tx.deadline) return;  // the timeout ends the probe first
  // A failed retransmission is not fatal: the next one or the timeout decides.
  if (transport_.send(*p.socket, p.remote, p.request) == 0) ++p.tx.transmissions;
  p.tx.timer_e = next_timer_e(p.tx.timer_e, p.tx.provisional_seen);
  queue_.push({due + p.tx.timer_e, path, p.generation, p.tx.seq, TimerKind::retransmit});
}

void Engine::forget_address(const Path& p, std::uint32_t path) {
  auto range = by_address_.equal_range(key_of(p.remote));
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == path) {
      by_address_.erase(it);
      return;
    }
  }
}

void Engine::on_datagram(const UdpEndpoint& from, std::string_view data, bool truncated,
                         TimePoint received) {
  const Destination sender{from.address(), from.port(), Transport::udp};
  if (truncated) {
    sink_.invalid_message("too_large", DropOrigin{sender, {}});
    return;
  }
  if (is_keepalive_datagram(data)) return;  // expected traffic, not a broken message
  SipResponse r;
  if (!parse_or_count(data, r, sender)) return;
  const auto slot = slot_from_branch(r.via_branch);
  if (!slot || *slot >= paths_.size() || !paths_[*slot]) {
    sink_.unmatched_response(to_string(slot ? Match::no_open_probe : Match::wrong_branch),
                             DropOrigin{sender, r.call_id});
    return;
  }
  const Path& p = *paths_[*slot];
  const bool same_source =
      p.dest.transport == Transport::udp && p.socket.has_value() && from == p.remote;
  const Match m = match_response(p.tx, r, same_source);
  if (m != Match::ok) {
    sink_.unmatched_response(to_string(m), DropOrigin{sender, r.call_id});
    return;
  }
  on_response(*slot, r, data, received);
}

void Engine::on_transport_error(const UdpEndpoint& dest, std::string_view original, int error) {
  if (!is_unreachable_errno(error)) return;
  const TimePoint now = SteadyClock::now();
  // The error quotes the datagram that caused it; its Via branch names the probe.
  const auto pos = original.find(";branch=");
  if (pos != std::string_view::npos) {
    const auto branch = original.substr(pos + 8, kBranchLength);
    const auto slot = slot_from_branch(branch);
    if (slot && *slot < paths_.size() && paths_[*slot]) {
      const Path& p = *paths_[*slot];
      if (p.tx.open && p.tx.branch_view() == branch && p.remote == dest) {
        path_fail(*slot, FailureReason::refused, errno_text(error), now);
      }
      return;
    }
  }
  // A short quote without the branch: every open probe to that address is refused.
  std::vector<std::uint32_t> hit;
  auto range = by_address_.equal_range(key_of(dest));
  for (auto it = range.first; it != range.second; ++it) {
    if (paths_[it->second]->tx.open) hit.push_back(it->second);
  }
  // Failing a probe can end a one-shot target and change the map: act after the walk.
  for (const std::uint32_t path : hit) {
    if (paths_[path] && paths_[path]->tx.open) {
      path_fail(path, FailureReason::refused, errno_text(error), now);
    }
  }
}

}  // namespace stx
