#include "probes/engine.h"

#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <random>

#include "probes/sip_request.h"

namespace stx {
namespace {

// Without TTLs from the system resolver, a hostname is looked up again this often; the
// route (our source address for Via and Contact) is checked as often, so a target that was
// unroutable at start, or a changed local address, is picked up.
constexpr std::chrono::seconds kRefreshEvery{60};
constexpr std::size_t kRequestCapacity = 2048;

bool is_unreachable_errno(int e) {
  return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN ||
         e == ENONET || e == EACCES || e == EPERM;
}

// The user part of a sip: URI string, for the Contact; empty if none.
std::string user_of(const std::string& uri) {
  std::string error;
  auto parsed = parse_sip_uri(uri, &error);
  return parsed ? parsed->user : std::string();
}

}  // namespace

struct Engine::Target {
  TargetConfig cfg;
  std::string from_user;
  std::optional<UdpEndpoint> literal;  // the URI's address when it is an IP literal
  bool resolved = false;               // remote and our source address for it are known
  bool registered = false;             // remote is in by_address_
  UdpEndpoint remote;
  TimePoint resolved_at{};  // last DNS answer (hostnames)
  TimePoint routed_at{};    // last source-address lookup
  std::string sent_by;      // our address as seen in Via: "192.0.2.1:40000"
  std::string contact;      // "sip:user@192.0.2.1:40000"
  std::string request;      // rebuilt per probe into the same capacity
  Transaction tx;
  TargetState state;
  TimePoint next_start{};
};

std::size_t Engine::AddressKeyHash::operator()(const AddressKey& k) const {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : k.addr) h = (h ^ c) * 1099511628211ull;
  h = (h ^ k.port) * 1099511628211ull;
  return static_cast<std::size_t>(h);
}

Engine::AddressKey Engine::key_of(const UdpEndpoint& e) {
  AddressKey k;
  const auto a = e.address();
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    std::memcpy(k.addr.data(), b.data(), b.size());
  } else {
    const auto b = a.to_v6().to_bytes();
    std::memcpy(k.addr.data(), b.data(), b.size());
  }
  k.port = e.port();
  return k;
}

Engine::Engine(boost::asio::io_context& io, ProbeSink& sink, std::uint64_t seed)
    : io_(io),
      sink_(sink),
      ids_(seed),
      transport_(io, UdpTransport::Handlers{
                         [this](const UdpEndpoint& from, std::string_view data, bool truncated,
                                TimePoint at) { on_datagram(from, data, truncated, at); },
                         [this](const UdpEndpoint& dest, std::string_view original, int error) {
                           on_transport_error(dest, original, error);
                         }}),
      resolver_(io),
      timer_(io) {}

Engine::~Engine() { stop(); }

void Engine::start(const std::vector<TargetConfig>& targets, bool spread) {
  const TimePoint now = SteadyClock::now();
  std::mt19937_64 jitter(ids_.next());
  targets_.reserve(targets.size());
  queue_.reserve(targets.size() * 3 + 16);
  for (const TargetConfig& cfg : targets) {
    auto t = std::make_unique<Target>();
    t->cfg = cfg;
    t->from_user = user_of(cfg.from);
    t->request.reserve(kRequestCapacity);
    const auto slot = static_cast<std::uint32_t>(targets_.size());
    const SipUri& uri = cfg.parsed_uri;
    if (uri.host_kind != HostKind::name) {
      boost::system::error_code ec;
      const auto addr = boost::asio::ip::make_address(uri.host, ec);
      if (!ec) t->literal = UdpEndpoint(addr, uri.port ? uri.port : 5060);
    }
    // Spread first probes over the interval so thousands of targets do not fire at once.
    std::uniform_int_distribution<std::int64_t> offset(0, cfg.interval.count() - 1);
    t->next_start = spread ? now + std::chrono::milliseconds(offset(jitter)) : now;
    queue_.push({t->next_start, slot, 0, TimerKind::start});
    targets_.push_back(std::move(t));
  }
  arm_timer();
}

void Engine::stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  resolver_.cancel();
  transport_.close();
  queue_.clear();
}

void Engine::arm_timer() {
  if (stopped_ || queue_.empty()) return;
  const TimePoint due = queue_.next_due();
  if (timer_armed_ && due >= armed_for_) return;
  timer_armed_ = true;
  armed_for_ = due;
  timer_.expires_at(due);  // cancels an earlier wait, whose handler then sees operation_aborted
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted || stopped_) return;
    timer_armed_ = false;
    on_timer();
    arm_timer();
  });
}

void Engine::on_timer() {
  const TimePoint now = SteadyClock::now();
  TimerEntry e;
  while (queue_.pop_due(now, e)) {
    Target& t = *targets_[e.slot];
    switch (e.kind) {
      case TimerKind::start:
        // Fixed-rate schedule: the next start is planned from this one, not from `now`.
        t.next_start = e.due + t.cfg.interval;
        queue_.push({t.next_start, e.slot, 0, TimerKind::start});
        start_probe(e.slot, now);
        break;
      case TimerKind::retransmit:
        if (t.tx.open && t.tx.seq == e.seq && !t.tx.awaiting_dns) retransmit(e.slot, e.due);
        break;
      case TimerKind::timeout:
        if (t.tx.open && t.tx.seq == e.seq) {
          fail(e.slot, t.tx.awaiting_dns ? FailureReason::dns_error : FailureReason::timeout,
               t.tx.awaiting_dns ? "no DNS answer before the timeout" : "no final response", now);
        }
        break;
    }
  }
}

void Engine::start_probe(std::uint32_t slot, TimePoint now) {
  Target& t = *targets_[slot];
  if (t.tx.open) return;  // cannot happen while timeout < interval; never run two at once
  open_transaction(t.tx, slot, ids_, now, t.cfg.timeout);
  ++in_flight_;
  sink_.probe_started(slot);
  queue_.push({t.tx.deadline, slot, t.tx.seq, TimerKind::timeout});
  if (!t.literal) {
    if (!t.resolved || now - t.resolved_at >= kRefreshEvery) {
      t.tx.awaiting_dns = true;
      resolve(slot);
      return;
    }
  } else if (!t.resolved || now - t.routed_at >= kRefreshEvery) {
    if (const std::error_code ec = set_remote(t, slot, *t.literal, now)) {
      fail(slot, FailureReason::send_error, ec.message(), now);
      return;
    }
  }
  send_request(slot, now);
}

void Engine::resolve(std::uint32_t slot) {
  Target& t = *targets_[slot];
  const SipUri& uri = t.cfg.parsed_uri;
  const std::uint32_t seq = t.tx.seq;
  resolver_.async_resolve(
      boost::asio::ip::udp::v4(), uri.host, std::to_string(uri.port ? uri.port : 5060),
      [this, slot, seq](const boost::system::error_code& ec,
                        boost::asio::ip::udp::resolver::results_type results) {
        if (ec == boost::asio::error::operation_aborted || stopped_) return;
        Target& t = *targets_[slot];
        if (!t.tx.open || t.tx.seq != seq || !t.tx.awaiting_dns) return;  // timed out meanwhile
        const TimePoint now = SteadyClock::now();
        if (ec || results.empty()) {
          fail(slot, FailureReason::dns_error, ec ? ec.message() : "no A record", now);
          return;
        }
        t.resolved_at = now;
        t.tx.awaiting_dns = false;
        if (const std::error_code route = set_remote(t, slot, results.begin()->endpoint(), now)) {
          fail(slot, FailureReason::send_error, route.message(), now);
          return;
        }
        send_request(slot, now);
      });
}

std::error_code Engine::set_remote(Target& t, std::uint32_t slot, const UdpEndpoint& remote,
                                   TimePoint now) {
  if (!t.registered || t.remote != remote) {
    if (t.registered) {
      auto range = by_address_.equal_range(key_of(t.remote));
      for (auto it = range.first; it != range.second; ++it) {
        if (it->second == slot) {
          by_address_.erase(it);
          break;
        }
      }
    }
    t.remote = remote;
    by_address_.emplace(key_of(remote), slot);
    t.registered = true;
  }
  std::error_code ec;
  const auto local = transport_.local_endpoint_for(remote, ec);
  t.resolved = local.has_value();
  if (!local) return ec ? ec : std::make_error_code(std::errc::network_unreachable);
  t.routed_at = now;
  const auto a = local->address();
  t.sent_by = host_for_uri(a.to_string(), a.is_v6() ? HostKind::ipv6 : HostKind::ipv4) + ":" +
              std::to_string(local->port());
  t.contact = "sip:" + (t.from_user.empty() ? std::string() : t.from_user + "@") + t.sent_by;
  return {};
}

void Engine::send_request(std::uint32_t slot, TimePoint now) {
  Target& t = *targets_[slot];
  OptionsRequest r;
  r.request_uri = t.cfg.uri;
  r.to_uri = t.cfg.uri;
  r.from_uri = t.cfg.from;
  r.from_tag = t.tx.from_tag_view();
  r.via_transport = "UDP";
  r.via_sent_by = t.sent_by;
  r.branch = t.tx.branch_view();
  r.call_id = t.tx.call_id_view();
  r.cseq = t.tx.cseq;
  r.contact_uri = t.contact;
  r.user_agent = t.cfg.user_agent;
  build_options(r, t.request);
  t.tx.first_sent = now;
  const int err = transport_.send(t.remote, t.request);
  if (err != 0) {
    fail(slot, is_unreachable_errno(err) ? FailureReason::refused : FailureReason::send_error,
         std::strerror(err), now);
    return;
  }
  t.tx.transmissions = 1;
  t.tx.timer_e = kT1;
  queue_.push({now + t.tx.timer_e, slot, t.tx.seq, TimerKind::retransmit});
}

void Engine::retransmit(std::uint32_t slot, TimePoint due) {
  Target& t = *targets_[slot];
  if (due >= t.tx.deadline) return;  // the timeout ends the probe first
  // A failed retransmission is not fatal: the next one or the timeout decides.
  if (transport_.send(t.remote, t.request) == 0) ++t.tx.transmissions;
  t.tx.timer_e = next_timer_e(t.tx.timer_e, t.tx.provisional_seen);
  queue_.push({due + t.tx.timer_e, slot, t.tx.seq, TimerKind::retransmit});
}

void Engine::finish(std::uint32_t slot, ProbeResult& result, TimePoint now) {
  Target& t = *targets_[slot];
  t.tx.open = false;
  t.tx.awaiting_dns = false;
  --in_flight_;
  result.duration = now - t.tx.started;
  result.transmissions = t.tx.transmissions;
  result.success = result.status_code != 0 && t.cfg.healthy_codes.contains(result.status_code);
  const StateChange change =
      t.state.record(result.success, t.cfg.failures_before_down, t.cfg.successes_before_up);
  sink_.probe_finished(slot, result, change, t.state);
}

void Engine::fail(std::uint32_t slot, FailureReason reason, std::string_view detail,
                  TimePoint now) {
  ProbeResult r;
  r.reason = reason;
  r.detail = detail;
  finish(slot, r, now);
}

void Engine::on_datagram(const UdpEndpoint& from, std::string_view data, bool truncated,
                         TimePoint received) {
  if (truncated) {
    sink_.invalid_message("too_large");
    return;
  }
  SipResponse r;
  const SipParseError err = parse_sip_response(data, r);
  if (err != SipParseError::ok) {
    sink_.invalid_message(to_string(err));
    return;
  }
  const auto slot = slot_from_branch(r.via_branch);
  if (!slot || *slot >= targets_.size()) {
    sink_.unmatched_response(to_string(Match::wrong_branch));
    return;
  }
  Target& t = *targets_[*slot];
  const Match m = match_response(t.tx, r, t.resolved && from == t.remote);
  if (m != Match::ok) {
    sink_.unmatched_response(to_string(m));
    return;
  }
  if (r.status_code < 200) {  // provisional: the transaction goes on, retransmitting at T2
    t.tx.provisional_seen = true;
    return;
  }
  ProbeResult result;
  result.status_code = r.status_code;
  result.rtt = received - t.tx.first_sent;
  result.server = r.server;
  result.retry_after = r.retry_after;
  finish(*slot, result, received);
}

void Engine::on_transport_error(const UdpEndpoint& dest, std::string_view original, int error) {
  if (!is_unreachable_errno(error)) return;
  const TimePoint now = SteadyClock::now();
  // The error quotes the datagram that caused it; its Via branch names the probe.
  const auto pos = original.find(";branch=");
  if (pos != std::string_view::npos) {
    const auto branch = original.substr(pos + 8, kBranchLength);
    const auto slot = slot_from_branch(branch);
    if (slot && *slot < targets_.size()) {
      Target& t = *targets_[*slot];
      if (t.tx.open && !t.tx.awaiting_dns && t.tx.branch_view() == branch && t.remote == dest) {
        fail(*slot, FailureReason::refused, std::strerror(error), now);
      }
      return;
    }
  }
  // A short quote without the branch: every open probe to that address is refused.
  auto range = by_address_.equal_range(key_of(dest));
  for (auto it = range.first; it != range.second; ++it) {
    Target& t = *targets_[it->second];
    if (t.tx.open && !t.tx.awaiting_dns)
      fail(it->second, FailureReason::refused, std::strerror(error), now);
  }
}

}  // namespace stx
