// Targets and their probe cycles: scheduling, location (RFC 3263) and the verdict that
// turns the addresses' answers into the target's. Exchanges live in engine_path.cc.
#include <algorithm>
#include <cstring>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "probes/engine_parts.h"

namespace stx {
namespace {

// The user part of a sip: URI string, for the Contact; empty if none.
std::string user_of(const std::string& uri) {
  std::string error;
  auto parsed = parse_sip_uri(uri, &error);
  return parsed ? parsed->user : std::string();
}

}  // namespace

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

Engine::Engine(boost::asio::io_context& io, ProbeSink& sink, std::uint64_t seed,
               const DnsSettings& dns)
    : io_(io),
      sink_(sink),
      ids_(),
      jitter_(seed ^ 0x9e3779b97f4a7c15ull),
      transport_(io, UdpTransport::Handlers{
                         [this](const UdpEndpoint& from, std::string_view data, bool truncated,
                                TimePoint at) { on_datagram(from, data, truncated, at); },
                         [this](const UdpEndpoint& dest, std::string_view original, int error) {
                           on_transport_error(dest, original, error);
                         },
                         [this] { service(); }}),
      locator_(std::make_unique<Locator>(io, dns)),
      dns_(dns),
      timer_(io) {}

Engine::~Engine() {
  try {
    stop();
  } catch (...) {  // closing sockets during destruction: nothing left to report it to
  }
}

void Engine::start(const TargetList& targets, bool spread) {
  targets_.reserve(targets->size());
  paths_.reserve(targets->size());
  queue_.reserve(targets->size() * 3 + 16);
  std::vector<std::uint32_t> added;
  added.reserve(targets->size());
  for (const TargetConfig& cfg : *targets) {
    added.push_back(add_target(std::shared_ptr<const TargetConfig>(targets, &cfg), nullptr));
  }
  schedule_first(added, spread);
  arm_timer();
}

void Engine::reload(const TargetList& targets) {
  std::unordered_map<std::string_view, const TargetConfig*> wanted;
  for (const TargetConfig& cfg : *targets) wanted.emplace(cfg.name, &cfg);
  std::unordered_set<std::string_view> kept;
  for (std::uint32_t slot = 0; slot < targets_.size(); ++slot) {
    Target* t = targets_[slot].get();
    if (t == nullptr || !t->background) continue;
    const auto it = wanted.find(t->cfg->name);
    if (it != wanted.end() && *it->second == *t->cfg) {
      kept.insert(it->first);
      // The same settings, now read from the new list, so that the old one can go.
      t->cfg = std::shared_ptr<const TargetConfig>(targets, it->second);
    } else {
      remove_target(slot);
    }
  }
  std::vector<std::uint32_t> added;
  for (const TargetConfig& cfg : *targets) {
    if (!kept.contains(cfg.name)) {
      added.push_back(add_target(std::shared_ptr<const TargetConfig>(targets, &cfg), nullptr));
    }
  }
  schedule_first(added, true);
  arm_timer();
}

void Engine::start(const std::vector<TargetConfig>& targets, bool spread) {
  start(std::make_shared<const std::vector<TargetConfig>>(targets), spread);
}

void Engine::reload(const std::vector<TargetConfig>& targets) {
  reload(std::make_shared<const std::vector<TargetConfig>>(targets));
}

void Engine::schedule_first(const std::vector<std::uint32_t>& slots, bool spread) {
  // Planned from after the targets were added: with 100,000 of them that takes a while, and
  // planning from before would make the first probes late by it.
  const TimePoint now = SteadyClock::now();
  for (const std::uint32_t slot : slots) {
    Target& t = *targets_[slot];
    t.next_start = spread ? spread_start(*t.cfg, now) : now;
    queue_.push({t.next_start, slot, t.generation, 0, TimerKind::start});
  }
}

void Engine::set_dns(const DnsSettings& dns) {
  locator_ = std::make_unique<Locator>(io_, dns);  // drops pending lookups silently
  dns_ = dns;
  for (std::uint32_t slot = 0; slot < targets_.size(); ++slot) {
    Target* t = targets_[slot].get();
    if (t == nullptr || !t->locating) continue;
    t->locating = false;
    if (t->awaiting_dns) locate(slot);  // a cycle is waiting for this answer: ask again
  }
}

void Engine::probe_once(const TargetConfig& target, OneShotDone done) {
  const std::uint32_t slot =
      add_target(std::make_shared<const TargetConfig>(target), std::move(done));
  schedule_first({slot}, false);
  arm_timer();
}

TimePoint Engine::spread_start(const TargetConfig& cfg, TimePoint now) {
  // Spread first probes over the interval so thousands of targets do not fire at once.
  std::uniform_int_distribution<std::int64_t> offset(0, cfg.interval.count() - 1);
  return now + std::chrono::milliseconds(offset(jitter_));
}

std::uint32_t Engine::add_target(std::shared_ptr<const TargetConfig> config, OneShotDone done) {
  const TargetConfig& cfg = *config;
  const std::uint32_t slot = take_slot(targets_, free_slots_);
  auto t = std::make_unique<Target>();
  t->cfg = std::move(config);
  t->generation = new_generation();
  t->background = !done;
  t->done = std::move(done);
  t->from_user = user_of(cfg.from);
  t->request_uri = cfg.ruri_user.empty()
                       ? cfg.uri
                       : request_uri_with_user(cfg.parsed_uri, cfg.uri, cfg.ruri_user);
  const bool background = t->background;
  targets_[slot] = std::move(t);
  if (background) sink_.target_added(slot, cfg);
  return slot;
}

std::uint32_t Engine::new_generation() {
  const std::uint32_t g = next_generation_++;
  if (next_generation_ == 0) next_generation_ = 1;  // 0 never names a live target or address
  return g;
}

void Engine::remove_target(std::uint32_t slot) {
  Target& t = *targets_[slot];
  const bool in_flight = t.cycle_open;
  for (const std::uint32_t path : t.paths) remove_path(path);
  t.paths.clear();
  if (t.background) {
    if (in_flight) --in_flight_;
    sink_.target_removed(slot, in_flight);
  }
  targets_[slot].reset();  // its timer entries go stale: the generation no longer matches
  free_slots_.push_back(slot);
}

void Engine::stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  locator_->cancel_all();
  for (auto& p : paths_) {
    if (p) close_stream(*p);
  }
  transport_.close();
  queue_.clear();
}

void Engine::service() {
  if (stopped_) return;
  last_wake_ = SteadyClock::now();
  transport_.poll();  // answers first, so one that arrived before its deadline counts
  on_timer();
  arm_timer();  // answered challenges and new cycles have timers
}

bool Engine::live(const TimerEntry& e) const {
  if (e.kind == TimerKind::start || e.kind == TimerKind::timeout) {
    // The target may have been removed (and the slot perhaps reused) since.
    if (e.slot >= targets_.size() || !targets_[e.slot] || targets_[e.slot]->generation != e.gen) {
      return false;
    }
    const Target& t = *targets_[e.slot];
    return e.kind == TimerKind::start || (t.cycle_open && t.cycle_seq == e.seq);
  }
  if (e.slot >= paths_.size() || !paths_[e.slot] || paths_[e.slot]->generation != e.gen) {
    return false;
  }
  const Path& p = *paths_[e.slot];
  switch (e.kind) {
    case TimerKind::retransmit:
      return p.tx.open && p.tx.seq == e.seq;
    case TimerKind::pong_due:
      return p.ping_outstanding && p.ping_seq == e.seq;
    default:
      return true;
  }
}

void Engine::arm_timer() {
  if (stopped_) return;
  // Entries of answered probes (their retransmit and timeout) would each cost a wakeup.
  while (!queue_.empty() && !live(queue_.top())) queue_.pop();
  bool busy = false;
  if (!queue_.empty()) {
    // Wakeups are coalesced: under load one wakeup serves every timer due within the gap
    // and every datagram queued since the last one (their kernel timestamps keep RTTs exact).
    const TimePoint due = std::max(queue_.next_due(), last_wake_ + kWakeGap);
    busy = due <= SteadyClock::now() + kBusyWindow;
    if (!timer_armed_ || due < armed_for_) {
      timer_armed_ = true;
      armed_for_ = due;
      timer_.expires_at(due);  // cancels an earlier wait, whose handler sees operation_aborted
      timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec == boost::asio::error::operation_aborted || stopped_) return;
        timer_armed_ = false;
        service();
      });
    }
  }
  // Idle: a datagram wakes the loop. Busy: the next timer wakeup reads the sockets anyway.
  if (!busy) transport_.watch();
}

void Engine::on_timer() {
  const TimePoint now = SteadyClock::now();
  TimerEntry e;
  while (queue_.pop_due(now, e)) {
    if (!live(e)) continue;
    switch (e.kind) {
      case TimerKind::start: {
        Target& t = *targets_[e.slot];
        if (t.background) {
          sink_.schedule_lateness(SteadyClock::now() - e.due);
          // Fixed-rate schedule: the next start is planned from this one, not from `now`.
          t.next_start = e.due + t.cfg->interval;
          queue_.push({t.next_start, e.slot, t.generation, 0, TimerKind::start});
        }
        start_cycle(e.slot, now);
        break;
      }
      case TimerKind::timeout:
        cycle_timeout(e.slot, now);
        break;
      case TimerKind::retransmit:
        udp_retransmit(e.slot, e.due);
        break;
      case TimerKind::keepalive:
        on_keepalive_timer(e.slot, now);
        break;
      case TimerKind::pong_due: {
        // RFC 5626 4.4.1: no pong means the flow is dead; the next probe reconnects.
        Path& p = *paths_[e.slot];
        p.ping_outstanding = false;
        if (targets_[p.target]->background) sink_.keepalive_finished(p.target, e.slot, false);
        close_stream(p);
        break;
      }
    }
  }
}

void Engine::start_cycle(std::uint32_t slot, TimePoint now) {
  Target& t = *targets_[slot];
  if (t.cycle_open) return;  // cannot happen while timeout < interval; never run two at once
  t.cycle_open = true;
  ++t.cycle_seq;
  t.cycle_started = now;
  t.deadline = now + t.cfg->timeout;
  t.outstanding = 0;
  if (t.background) {
    ++in_flight_;
    sink_.probe_started(slot);
  }
  queue_.push({t.deadline, slot, t.generation, t.cycle_seq, TimerKind::timeout});
  if (t.pending) {
    apply_location(slot, *t.pending, t.located_at);
    t.pending.reset();
  }
  if (t.located && t.location.from_dns) {
    const auto expires = t.located_at + t.location.ttl;
    if (now >= expires + dns_.grace) {
      // The last good answer is too old to trust: drop its addresses, wait for a new one.
      for (const std::uint32_t path : t.paths) remove_path(path);
      t.paths.clear();
      t.located = false;
    } else if (now >= expires && !t.locating) {
      locate(slot);  // refresh in the background; this cycle uses the current answer
    }
  }
  if (!t.located) {
    t.awaiting_dns = true;
    if (!t.locating) locate(slot);
    return;
  }
  probe_paths(slot, now);
}

void Engine::locate(std::uint32_t slot) {
  Target& t = *targets_[slot];
  t.locating = true;
  const std::uint32_t gen = t.generation;
  locator_->locate(t.cfg->parsed_uri, t.cfg->transport, [this, slot, gen](const LocateResult& r) {
    if (stopped_ || slot >= targets_.size() || !targets_[slot] ||
        targets_[slot]->generation != gen) {
      return;  // removed meanwhile
    }
    on_located(slot, r);
    arm_timer();  // the probes it started have retransmit timers
  });
}

void Engine::on_located(std::uint32_t slot, const LocateResult& r) {
  Target& t = *targets_[slot];
  t.locating = false;
  const TimePoint now = SteadyClock::now();
  if (!r.ok) {
    if (t.awaiting_dns) {
      fail_cycle(slot, FailureReason::dns_error, r.error, now);
    } else if (t.background) {
      sink_.location_failed(slot, r.error);  // the previous answer stays until TTL + grace
    }
    return;
  }
  if (t.awaiting_dns) {
    t.awaiting_dns = false;
    apply_location(slot, r.location, now);
    probe_paths(slot, now);
  } else if (t.cycle_open) {
    t.pending = r.location;  // never change addresses under a running cycle
    t.located_at = now;
  } else {
    apply_location(slot, r.location, now);
  }
}

void Engine::apply_location(std::uint32_t slot, const Location& location, TimePoint located_at) {
  Target& t = *targets_[slot];
  t.location = location;
  if (t.cfg->probe == ProbeAddresses::first && t.location.destinations.size() > 1) {
    t.location.destinations.resize(1);
  }
  t.located = true;
  t.located_at = located_at;
  std::vector<std::uint32_t> next;
  next.reserve(t.location.destinations.size());
  for (const Destination& d : t.location.destinations) {
    std::uint32_t found = UINT32_MAX;
    for (const std::uint32_t path : t.paths) {
      if (paths_[path]->dest == d) found = path;
    }
    next.push_back(found != UINT32_MAX ? found : add_path(slot, d));
  }
  for (const std::uint32_t path : t.paths) {
    if (std::find(next.begin(), next.end(), path) == next.end()) remove_path(path);
  }
  t.paths = std::move(next);
}

void Engine::probe_paths(std::uint32_t slot, TimePoint now) {
  Target& t = *targets_[slot];
  const std::uint32_t gen = t.generation;
  const std::uint32_t cycle = t.cycle_seq;
  for (const std::uint32_t path : t.paths) {
    paths_[path]->in_cycle = true;
    paths_[path]->done = false;
  }
  t.outstanding = static_cast<int>(t.paths.size());
  if (t.outstanding == 0) {
    fail_cycle(slot, FailureReason::dns_error, "no address to probe", now);
    return;
  }
  const std::vector<std::uint32_t> paths = t.paths;
  for (const std::uint32_t path : paths) {
    start_path_probe(path, now);
    // A probe can end at once (send error) and with it the cycle and a one-shot target.
    if (!targets_[slot] || targets_[slot]->generation != gen || !targets_[slot]->cycle_open ||
        targets_[slot]->cycle_seq != cycle) {
      return;
    }
  }
}

void Engine::cycle_timeout(std::uint32_t slot, TimePoint now) {
  Target& t = *targets_[slot];
  if (t.awaiting_dns) {
    fail_cycle(slot, FailureReason::dns_error, "no DNS answer before the timeout", now);
    return;
  }
  const std::uint32_t gen = t.generation;
  const std::vector<std::uint32_t> paths = t.paths;
  for (const std::uint32_t path : paths) {
    if (!targets_[slot] || targets_[slot]->generation != gen) return;  // one-shot finished
    Path& p = *paths_[path];
    if (!p.in_cycle || p.done) continue;
    if (p.dest.transport != Transport::udp && !p.conn_ready) {
      close_stream(p);  // a connection that did not come up in time starts over next time
      path_fail(path, FailureReason::connect, "no connection before the timeout", now);
    } else {
      // A half-received message would swallow the next answer: start over on a new flow.
      if (p.conn && p.conn->mid_message()) close_stream(p);
      path_fail(path, FailureReason::timeout, "no final response", now);
    }
  }
}

void Engine::finish_cycle(std::uint32_t slot, TimePoint now) {
  Target& t = *targets_[slot];
  const bool want_all = t.cfg->up_when == UpWhen::all;
  bool any_ok = false;
  bool all_ok = true;
  const Path* first = nullptr;
  const Path* chosen = nullptr;
  // The reported exchange: the first address that decided the verdict, in RFC 3263 order.
  for (const std::uint32_t path : t.paths) {
    const Path& p = *paths_[path];
    if (!p.in_cycle) continue;
    if (first == nullptr) first = &p;
    any_ok = any_ok || p.result.success;
    all_ok = all_ok && p.result.success;
    if (chosen == nullptr && p.result.success != want_all) chosen = &p;
  }
  if (chosen == nullptr) chosen = first;
  ProbeResult r;
  if (chosen != nullptr) r = chosen->result;
  r.success = first != nullptr && (want_all ? all_ok : any_ok);
  for (const std::uint32_t path : t.paths) paths_[path]->in_cycle = false;
  report_cycle(slot, r, now);
}

void Engine::fail_cycle(std::uint32_t slot, FailureReason reason, std::string_view detail,
                        TimePoint now) {
  Target& t = *targets_[slot];
  t.awaiting_dns = false;
  for (const std::uint32_t path : t.paths) paths_[path]->in_cycle = false;
  ProbeResult r;
  r.reason = reason;
  r.detail = detail;
  report_cycle(slot, r, now);
}

void Engine::report_cycle(std::uint32_t slot, ProbeResult& r, TimePoint now) {
  Target& t = *targets_[slot];
  t.cycle_open = false;
  r.duration = now - t.cycle_started;
  if (!t.background) {
    const OneShotDone done = std::move(t.done);
    done(r);
    remove_target(slot);
    return;
  }
  --in_flight_;
  const StateChange change =
      t.state.record(r.success, t.cfg->failures_before_down, t.cfg->successes_before_up);
  sink_.probe_finished(slot, r, change, t.state);
}

}  // namespace stx
