#include "probes/engine.h"

#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>

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
  std::uint32_t generation = 0;
  bool background = true;  // false for probe_once() targets: never rescheduled, not reported
  OneShotDone done;        // probe_once() callback
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
      jitter_(seed ^ 0x9e3779b97f4a7c15ull),
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
  targets_.reserve(targets.size());
  queue_.reserve(targets.size() * 3 + 16);
  for (const TargetConfig& cfg : targets) {
    add_target(cfg, spread ? spread_start(cfg, now) : now, nullptr);
  }
  arm_timer();
}

void Engine::reload(const std::vector<TargetConfig>& targets) {
  std::unordered_map<std::string_view, const TargetConfig*> wanted;
  for (const TargetConfig& cfg : targets) wanted.emplace(cfg.name, &cfg);
  std::unordered_set<std::string_view> kept;
  for (std::uint32_t slot = 0; slot < targets_.size(); ++slot) {
    const Target* t = targets_[slot].get();
    if (t == nullptr || !t->background) continue;
    const auto it = wanted.find(t->cfg.name);
    if (it != wanted.end() && *it->second == t->cfg) {
      kept.insert(it->first);
    } else {
      remove_target(slot);
    }
  }
  const TimePoint now = SteadyClock::now();
  for (const TargetConfig& cfg : targets) {
    if (!kept.contains(cfg.name)) add_target(cfg, spread_start(cfg, now), nullptr);
  }
  arm_timer();
}

void Engine::probe_once(const TargetConfig& target, OneShotDone done) {
  add_target(target, SteadyClock::now(), std::move(done));
  arm_timer();
}

TimePoint Engine::spread_start(const TargetConfig& cfg, TimePoint now) {
  // Spread first probes over the interval so thousands of targets do not fire at once.
  std::uniform_int_distribution<std::int64_t> offset(0, cfg.interval.count() - 1);
  return now + std::chrono::milliseconds(offset(jitter_));
}

std::uint32_t Engine::add_target(const TargetConfig& cfg, TimePoint first_start, OneShotDone done) {
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(targets_.size());
    targets_.emplace_back();
  }
  auto t = std::make_unique<Target>();
  t->cfg = cfg;
  t->generation = next_generation_++;
  if (next_generation_ == 0) next_generation_ = 1;
  t->background = !done;
  t->done = std::move(done);
  t->from_user = user_of(cfg.from);
  t->request.reserve(kRequestCapacity);
  const SipUri& uri = cfg.parsed_uri;
  if (uri.host_kind != HostKind::name) {
    boost::system::error_code ec;
    const auto addr = boost::asio::ip::make_address(uri.host, ec);
    if (!ec) t->literal = UdpEndpoint(addr, uri.port ? uri.port : 5060);
  }
  t->next_start = first_start;
  queue_.push({first_start, slot, t->generation, 0, TimerKind::start});
  const bool background = t->background;
  targets_[slot] = std::move(t);
  if (background) sink_.target_added(slot, cfg);
  return slot;
}

void Engine::remove_target(std::uint32_t slot) {
  Target& t = *targets_[slot];
  const bool in_flight = t.tx.open;
  if (t.registered) forget_address(t, slot);
  if (t.background) {
    if (in_flight) --in_flight_;
    sink_.target_removed(slot, in_flight);
  }
  targets_[slot].reset();  // its timer entries go stale: the generation no longer matches
  free_slots_.push_back(slot);
}

void Engine::forget_address(const Target& t, std::uint32_t slot) {
  auto range = by_address_.equal_range(key_of(t.remote));
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == slot) {
      by_address_.erase(it);
      return;
    }
  }
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
    if (e.slot >= targets_.size() || !targets_[e.slot] || targets_[e.slot]->generation != e.gen) {
      continue;  // the target was removed (and the slot perhaps reused) since
    }
    Target& t = *targets_[e.slot];
    switch (e.kind) {
      case TimerKind::start:
        if (t.background) {
          // Fixed-rate schedule: the next start is planned from this one, not from `now`.
          t.next_start = e.due + t.cfg.interval;
          queue_.push({t.next_start, e.slot, t.generation, 0, TimerKind::start});
        }
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
  if (t.background) {
    ++in_flight_;
    sink_.probe_started(slot);
  }
  queue_.push({t.tx.deadline, slot, t.generation, t.tx.seq, TimerKind::timeout});
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
  const std::uint32_t gen = t.generation;
  resolver_.async_resolve(
      boost::asio::ip::udp::v4(), uri.host, std::to_string(uri.port ? uri.port : 5060),
      [this, slot, gen, seq](const boost::system::error_code& ec,
                             boost::asio::ip::udp::resolver::results_type results) {
        if (ec == boost::asio::error::operation_aborted || stopped_) return;
        if (!targets_[slot] || targets_[slot]->generation != gen) return;  // removed meanwhile
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
    if (t.registered) forget_address(t, slot);
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
  queue_.push({now + t.tx.timer_e, slot, t.generation, t.tx.seq, TimerKind::retransmit});
}

void Engine::retransmit(std::uint32_t slot, TimePoint due) {
  Target& t = *targets_[slot];
  if (due >= t.tx.deadline) return;  // the timeout ends the probe first
  // A failed retransmission is not fatal: the next one or the timeout decides.
  if (transport_.send(t.remote, t.request) == 0) ++t.tx.transmissions;
  t.tx.timer_e = next_timer_e(t.tx.timer_e, t.tx.provisional_seen);
  queue_.push({due + t.tx.timer_e, slot, t.generation, t.tx.seq, TimerKind::retransmit});
}

void Engine::finish(std::uint32_t slot, ProbeResult& result, TimePoint now) {
  Target& t = *targets_[slot];
  t.tx.open = false;
  t.tx.awaiting_dns = false;
  result.duration = now - t.tx.started;
  result.transmissions = t.tx.transmissions;
  result.request = t.request;
  result.success = result.status_code != 0 && t.cfg.healthy_codes.contains(result.status_code);
  if (!t.background) {
    const OneShotDone done = std::move(t.done);
    done(result);
    remove_target(slot);
    return;
  }
  --in_flight_;
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
  if (!slot || *slot >= targets_.size() || !targets_[*slot]) {
    sink_.unmatched_response(to_string(slot ? Match::no_open_probe : Match::wrong_branch));
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
  result.response = data.substr(0, r.message_length);
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
    if (slot && *slot < targets_.size() && targets_[*slot]) {
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
