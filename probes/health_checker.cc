// Targets and their probe cycles: scheduling, location (RFC 3263), per-address health and
// the verdict that turns the addresses' outcomes into the target's.
#include "probes/health_checker.h"

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <unordered_map>
#include <unordered_set>

#include "probes/probers.h"
#include "probes/slots.h"

namespace stx {
namespace {

// Points `p` at `cfg`, with what the exchanges derive from it.
void bind(ProbeTarget& p, std::shared_ptr<const TargetConfig> cfg) {
  p.cfg = std::move(cfg);
  p.prober = &prober_for(p.cfg->shared->method);
  std::string uri = p.prober->request_uri(*p.cfg);
  p.own_request_uri =
      uri == p.cfg->uri ? nullptr : std::make_unique<const std::string>(std::move(uri));
}

}  // namespace

// One configured target (or one /probe request) and its probe cycles.
// Most targets have one address, some two: those need no allocation of their own.
using Addresses = boost::container::small_vector<std::uint32_t, 2>;

struct HealthChecker::Target {
  ProbeTarget probe;  // what the exchanges see; its address never changes
  // What few targets need, made when one does: a probe_once() callback, and a refreshed
  // DNS answer that came in during a cycle (applied when the next one starts).
  struct Aside {
    OneShotDone done;
    std::optional<Location> pending;
  };
  std::unique_ptr<Aside> aside;
  Aside& asides() { return aside ? *aside : *(aside = std::make_unique<Aside>()); }

  // Where it is: the addresses of the last good RFC 3263 answer, and its lifetime.
  Addresses addresses;  // in location order
  std::chrono::seconds ttl{0};
  TimePoint located_at{};
  TimePoint lookup_started{};  // of the lookup in progress (locating)

  // The current cycle: one exchange per probed address, one deadline for all.
  TimePoint cycle_started{};
  TimePoint deadline{};
  std::chrono::nanoseconds cycle_dns{0};  // how long this cycle waited for DNS
  TimePoint planned{};     // when the last cycle was due to start: the fixed-rate anchor
  TimePoint next_start{};  // when the next is due
  TargetState state;
  std::uint32_t generation = 0;
  std::uint32_t cycle_seq = 0;
  int outstanding = 0;

  bool retiring = false;  // a one-shot probe that reported and waits for its exchanges' end
  bool located = false;
  bool from_dns = false;  // the location's; else an IP literal: never expires
  bool locating = false;
  bool cycle_open = false;
  bool awaiting_dns = false;

  const TargetConfig& cfg() const { return *probe.cfg; }
};

// One address of a target and its own health.
struct HealthChecker::Address {
  std::uint32_t target = 0;
  std::uint32_t generation = 0;
  TargetState state;
  bool in_cycle = false;  // probed in the current cycle
  bool done = false;      // finished in the current cycle
  bool success = false;   // the verdict of its exchange in the current cycle
  bool degraded = false;  // (the four flags fill the hole after state: 40 bytes, not 48)
  TimePoint paused_until{};  // Retry-After: no probe before then

  // An exchange that finished while others of the cycle were still open, with its texts,
  // so the cycle can report it later. Made the first time that happens (several addresses
  // probed at once), then reused: most targets have one address and never need it.
  struct Kept {
    ProbeResult result;
    std::string request, response, server, detail;
  };
  std::unique_ptr<Kept> kept;
};

// How long the open cycle of `t` has waited for its lookup: from the cycle's start, or from
// the lookup's when a background refresh started later and the cycle waits for it.
std::chrono::nanoseconds HealthChecker::dns_wait(const Target& t, TimePoint now) {
  return now - std::max(t.cycle_started, t.lookup_started);
}

HealthChecker::HealthChecker(Services services, std::uint64_t seed, const DnsSettings& dns)
    : s_(std::move(services)),
      jitter_(seed ^ 0x9e3779b97f4a7c15ull),
      dns_(dns),
      locator_(s_.locators(dns)) {}

HealthChecker::~HealthChecker() = default;

void HealthChecker::start(const TargetList& targets, bool spread) {
  targets_.reserve(targets->size());
  stamps_.reserve(targets->size());
  addresses_.reserve(targets->size());
  std::vector<std::uint32_t> added;
  added.reserve(targets->size());
  for (const TargetConfig& cfg : *targets) {
    added.push_back(add_target(std::shared_ptr<const TargetConfig>(targets, &cfg), nullptr));
  }
  schedule_first(added, spread);
}

void HealthChecker::reload(const TargetList& targets) {
  std::unordered_map<std::string_view, const TargetConfig*> wanted;
  for (const TargetConfig& cfg : *targets) wanted.emplace(cfg.name, &cfg);
  std::unordered_set<std::string_view> kept;
  for (std::uint32_t slot = 0; slot < targets_.size(); ++slot) {
    Target* t = targets_[slot];
    if (t == nullptr || !t->probe.background) continue;
    const auto it = wanted.find(t->cfg().name);
    if (it != wanted.end() && *it->second == t->cfg()) {
      kept.insert(it->first);
      // The same settings, now read from the new list, so that the old one can go.
      bind(t->probe, std::shared_ptr<const TargetConfig>(targets, it->second));
      s_.sink.target_kept(slot, t->probe.cfg);
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
}

void HealthChecker::schedule_first(const std::vector<std::uint32_t>& slots, bool spread) {
  // Planned from after the targets were added: with 100,000 of them that takes a while, and
  // planning from before would make the first probes late by it.
  // Pushed in deadline order, they fill one FIFO lane of the timer queue instead of its
  // heap, whose storage a spread of 100,000 random starts would grow for good (3.6 MB).
  const TimePoint now = s_.clock.now();
  std::vector<TimerEntry> starts;
  starts.reserve(slots.size());
  for (const std::uint32_t slot : slots) {
    Target& t = *targets_[slot];
    t.next_start = spread ? spread_start(t.cfg(), now) : now;
    starts.push_back({t.next_start, slot, t.generation, 0, TimerKind::start});
  }
  std::stable_sort(starts.begin(), starts.end(),
                   [](const TimerEntry& a, const TimerEntry& b) { return a.due < b.due; });
  for (const TimerEntry& e : starts) s_.timers.push(e);
}

void HealthChecker::set_dns(const DnsSettings& dns) {
  locator_ = s_.locators(dns);  // drops pending lookups silently
  dns_ = dns;
  for (std::uint32_t slot = 0; slot < targets_.size(); ++slot) {
    Target* t = targets_[slot];
    if (t == nullptr || !t->locating) continue;
    t->locating = false;
    if (t->awaiting_dns) locate(slot);  // a cycle is waiting for this answer: ask again
  }
}

void HealthChecker::probe_once(const TargetConfig& target, OneShotDone done) {
  const std::uint32_t slot =
      add_target(std::make_shared<const TargetConfig>(target), std::move(done));
  schedule_first({slot}, false);
}

void HealthChecker::stop() {
  stopped_ = true;
  locator_->cancel_all();
}

TimePoint HealthChecker::spread_start(const TargetConfig& cfg, TimePoint now) {
  // Spread first probes over the interval so thousands of targets do not fire at once.
  std::uniform_int_distribution<std::int64_t> offset(0, cfg.shared->interval.count() - 1);
  return now + std::chrono::milliseconds(offset(jitter_));
}

std::uint32_t HealthChecker::add_target(std::shared_ptr<const TargetConfig> config,
                                        OneShotDone done) {
  const std::uint32_t slot = take_slot(targets_, free_slots_);
  Target& t = targets_.emplace(slot);
  bind(t.probe, std::move(config));
  t.probe.slot = slot;
  t.probe.background = !done;
  t.generation = new_generation();
  if (done) t.asides().done = std::move(done);
  if (stamps_.size() < targets_.size()) stamps_.resize(targets_.size());
  stamps_[slot] = {t.generation, 0, false};
  if (t.probe.background) s_.sink.target_added(slot, t.probe.cfg);
  return slot;
}

std::uint32_t HealthChecker::new_generation() {
  const std::uint32_t g = next_generation_++;
  if (next_generation_ == 0) next_generation_ = 1;  // 0 never names a live target or address
  return g;
}

void HealthChecker::remove_target(std::uint32_t slot) {
  Target& t = *targets_[slot];
  const bool in_flight = t.cycle_open;
  for (const std::uint32_t address : t.addresses) remove_address(address);
  t.addresses.clear();
  if (t.probe.background) {
    if (in_flight) --in_flight_;
    s_.sink.target_removed(slot, in_flight);
  }
  targets_.erase(slot);  // its timer entries go stale: the generation no longer matches
  stamps_[slot] = {};
  free_slots_.push_back(slot);
}

// A one-shot target goes once its addresses have no work left: a test call's BYE may still
// be resent, and a late 200 still needs its ACK and BYE.
void HealthChecker::retire_one_shot(std::uint32_t slot, TimePoint now) {
  Target& t = *targets_[slot];
  TimePoint until = now;
  for (const std::uint32_t a : t.addresses) until = std::max(until, s_.exchanges.busy_until(a));
  if (until <= now) {
    remove_target(slot);
    return;
  }
  t.retiring = true;
  s_.timers.push({until, slot, t.generation, 0, TimerKind::start});
}

bool HealthChecker::live(const TimerEntry& e) const {
  // The target may have been removed (and the slot perhaps reused) since.
  if (e.slot >= stamps_.size() || stamps_[e.slot].generation != e.gen) return false;
  const Stamp& s = stamps_[e.slot];
  return e.kind == TimerKind::start || (s.cycle_open && s.cycle_seq == e.seq);
}

void HealthChecker::fire(const TimerEntry& e, TimePoint now) {
  if (e.kind == TimerKind::timeout) {
    cycle_timeout(e.slot, now);
    return;
  }
  Target& t = *targets_[e.slot];
  if (t.retiring) {
    remove_target(e.slot);
    return;
  }
  if (t.probe.background) {
    s_.sink.schedule_lateness(s_.clock.now() - e.due);
    t.planned = e.due;  // the next start is planned from here when this cycle reports
  }
  start_cycle(e.slot, now);
}

std::chrono::milliseconds HealthChecker::next_interval(const Target& t) const {
  const TargetConfig& cfg = t.cfg();
  bool pending = t.state.change_pending();
  for (const std::uint32_t address : t.addresses) {
    pending = pending || addresses_[address]->state.change_pending();
  }
  const auto or_interval = [&](std::chrono::milliseconds d) {
    return d.count() > 0 ? d : cfg.shared->interval;
  };
  if (pending) return or_interval(cfg.shared->fast_interval);
  if (t.state.health == Health::down || t.state.health == Health::degraded) {
    return or_interval(cfg.shared->down_interval);
  }
  return cfg.shared->interval;
}

bool HealthChecker::all_paused(const Target& t, TimePoint at) const {
  if (!t.located || t.addresses.empty()) return false;
  return std::all_of(t.addresses.begin(), t.addresses.end(),
                     [&](std::uint32_t a) { return addresses_[a]->paused_until > at; });
}

void HealthChecker::schedule_next(std::uint32_t slot, TimePoint now) {
  Target& t = *targets_[slot];
  const std::chrono::milliseconds interval = next_interval(t);
  // Fixed rate: planned from the last planned start, not from `now`, so nothing drifts; but
  // never before the last cycle ended (fast_interval may be shorter than the timeout).
  TimePoint next = t.planned + interval;
  if (const auto jitter = t.cfg().shared->interval_jitter.upto(interval); jitter.count() > 0) {
    std::uniform_int_distribution<std::int64_t> extra(0, jitter.count());
    next += std::chrono::milliseconds(extra(jitter_));
  }
  next = std::max(next, now);
  if (all_paused(t, next)) {
    // Retry-After on every address: wake when the first pause ends, not before.
    next = addresses_[t.addresses.front()]->paused_until;
    for (const std::uint32_t a : t.addresses) next = std::min(next, addresses_[a]->paused_until);
  }
  t.next_start = next;
  s_.timers.push({next, slot, t.generation, 0, TimerKind::start});
}

bool HealthChecker::same_cycle(std::uint32_t slot, std::uint32_t gen, std::uint32_t cycle) const {
  return slot < stamps_.size() && stamps_[slot].generation == gen && stamps_[slot].cycle_open &&
         stamps_[slot].cycle_seq == cycle;
}

void HealthChecker::start_cycle(std::uint32_t slot, TimePoint now) {
  Target& t = *targets_[slot];
  if (t.cycle_open) return;  // the next start is planned when a cycle ends: never two at once
  if (t.aside && t.aside->pending) {
    const Location pending = std::move(*t.aside->pending);
    t.aside->pending.reset();
    apply_location(slot, pending, t.located_at);
  }
  bool refresh = false;
  if (t.located && t.from_dns) {
    const auto expires = t.located_at + t.ttl;
    if (now >= expires + dns_.grace) {
      // The last good answer is too old to trust: drop its addresses, wait for a new one.
      for (const std::uint32_t address : t.addresses) remove_address(address);
      t.addresses.clear();
      t.located = false;
    } else if (now >= expires && !t.locating) {
      refresh = true;  // in the background; this cycle uses the current answer
    }
  }
  if (t.probe.background && all_paused(t, now)) {
    // Every address asked for a pause (Retry-After): no cycle, no verdict, no probe.
    if (refresh) locate(slot);
    schedule_next(slot, now);
    return;
  }
  t.cycle_open = true;
  ++t.cycle_seq;
  stamps_[slot] = {t.generation, t.cycle_seq, true};
  t.cycle_started = now;
  t.deadline = now + t.cfg().shared->timeout;
  t.outstanding = 0;
  t.cycle_dns = std::chrono::nanoseconds(0);
  if (t.probe.background) {
    ++in_flight_;
    s_.sink.probe_started(slot);
  }
  s_.timers.push({t.deadline, slot, t.generation, t.cycle_seq, TimerKind::timeout});
  if (refresh) locate(slot);
  if (!t.located) {
    t.awaiting_dns = true;
    if (!t.locating) locate(slot);
    return;
  }
  probe_addresses(slot, now);
}

void HealthChecker::locate(std::uint32_t slot) {
  Target& t = *targets_[slot];
  t.locating = true;
  t.lookup_started = s_.clock.now();
  const std::uint32_t gen = t.generation;
  locator_->locate(t.cfg().parsed_uri(), t.cfg().shared->transport,
                   [this, slot, gen](const LocateResult& r) {
                     if (stopped_ || slot >= targets_.size() || !targets_[slot] ||
                         targets_[slot]->generation != gen) {
                       return;  // removed meanwhile
                     }
                     on_located(slot, r);
                     if (s_.rearm) s_.rearm();
                   });
}

void HealthChecker::on_located(std::uint32_t slot, const LocateResult& r) {
  Target& t = *targets_[slot];
  t.locating = false;
  const TimePoint now = s_.clock.now();
  if (t.awaiting_dns && (!r.ok || r.location.from_dns)) t.cycle_dns = dns_wait(t, now);
  if (!r.ok) {
    if (t.awaiting_dns) {
      fail_cycle(slot, FailureReason::dns_error, r.error, now);
    } else if (t.probe.background) {
      s_.sink.location_failed(slot, r.error);  // the previous answer stays until TTL + grace
    }
    return;
  }
  if (t.awaiting_dns) {
    t.awaiting_dns = false;
    apply_location(slot, r.location, now);
    probe_addresses(slot, now);
  } else if (t.cycle_open) {
    t.asides().pending = r.location;  // never under a running cycle
    t.located_at = now;
  } else {
    apply_location(slot, r.location, now);
  }
}

void HealthChecker::apply_location(std::uint32_t slot, const Location& location,
                                   TimePoint located_at) {
  Target& t = *targets_[slot];
  t.ttl = location.ttl;
  t.from_dns = location.from_dns;
  t.located = true;
  t.located_at = located_at;
  std::size_t wanted = location.destinations.size();
  if (t.cfg().shared->probe == ProbeAddresses::first) wanted = std::min<std::size_t>(wanted, 1);
  Addresses next;
  for (std::size_t i = 0; i < wanted; ++i) {
    const Destination& d = location.destinations[i];
    std::uint32_t found = UINT32_MAX;
    for (const std::uint32_t address : t.addresses) {
      if (s_.exchanges.destination(address) == d) found = address;
    }
    next.push_back(found != UINT32_MAX ? found : add_address(slot, d));
  }
  for (const std::uint32_t address : t.addresses) {
    if (std::find(next.begin(), next.end(), address) == next.end()) remove_address(address);
  }
  t.addresses = std::move(next);
}

std::uint32_t HealthChecker::add_address(std::uint32_t target, const Destination& d) {
  const std::uint32_t slot = take_slot(addresses_, free_addresses_);
  Address& a = addresses_.emplace(slot);
  a.target = target;
  a.generation = new_generation();
  const std::uint32_t generation = a.generation;
  const Target& t = *targets_[target];
  s_.exchanges.open(slot, generation, t.probe, d);
  if (t.probe.background) s_.sink.address_added(target, slot, d);
  return slot;
}

void HealthChecker::remove_address(std::uint32_t address) {
  const Address& a = *addresses_[address];
  s_.exchanges.close(address);
  if (targets_[a.target]->probe.background) s_.sink.address_removed(a.target, address);
  addresses_.erase(address);
  free_addresses_.push_back(address);
}

void HealthChecker::probe_addresses(std::uint32_t slot, TimePoint now) {
  Target& t = *targets_[slot];
  const std::uint32_t gen = t.generation;
  const std::uint32_t cycle = t.cycle_seq;
  int probed = 0;
  for (const std::uint32_t address : t.addresses) {
    Address& a = *addresses_[address];
    a.in_cycle = a.paused_until <= now;  // a paused address keeps its state, out of the verdict
    a.done = false;
    probed += a.in_cycle ? 1 : 0;
  }
  t.outstanding = probed;
  if (t.outstanding == 0) {
    fail_cycle(slot, FailureReason::dns_error, "no address to probe", now);
    return;
  }
  // By index: no list of its own per probe. The addresses do not change while the cycle is
  // open (a new DNS answer waits for its end).
  for (std::size_t i = 0; i < t.addresses.size(); ++i) {
    const std::uint32_t address = t.addresses[i];
    if (!addresses_[address]->in_cycle) continue;
    s_.exchanges.start(address, now, t.deadline);
    // An exchange can end at once (send error) and with it the cycle and a one-shot target.
    if (!same_cycle(slot, gen, cycle)) return;
  }
}

void HealthChecker::cycle_timeout(std::uint32_t slot, TimePoint now) {
  Target& t = *targets_[slot];
  if (t.awaiting_dns) {
    t.cycle_dns = dns_wait(t, now);
    fail_cycle(slot, FailureReason::dns_error, "no DNS answer before the timeout", now);
    return;
  }
  const std::uint32_t gen = t.generation;
  const std::uint32_t cycle = t.cycle_seq;
  const Addresses addresses = t.addresses;
  for (const std::uint32_t address : addresses) {
    if (!same_cycle(slot, gen, cycle)) return;  // finished (a one-shot target: removed)
    const Address& a = *addresses_[address];
    if (a.in_cycle && !a.done) s_.exchanges.expire(address, now);
  }
}

void HealthChecker::exchange_finished(std::uint32_t address, ProbeResult& result, TimePoint now) {
  Address& a = *addresses_[address];
  const std::uint32_t target = a.target;
  Target& t = *targets_[target];
  const bool counts = t.cycle_open && a.in_cycle && !a.done;
  a.success = result.success;
  a.degraded = result.degraded;
  if (!(counts && t.outstanding == 1)) keep(a, result);
  const StateChange change =
      a.state.record(verdict_of(result), t.cfg().shared->failures_before_down,
                     t.cfg().shared->successes_before_up);
  if (t.probe.background) {
    s_.sink.address_finished(target, address, result, change, a.state);
    note_retry_after(address, result, now);
  }
  if (counts) {
    a.done = true;
    if (--t.outstanding == 0) finish_cycle(target, address, result, now);
  }
}

// The cycle reports this exchange after the receive buffer and the request's are reused:
// own copies. The Call-ID stays in the exchange until its next start.
void HealthChecker::keep(Address& a, const ProbeResult& result) {
  if (!a.kept) a.kept = std::make_unique<Address::Kept>();
  Address::Kept& k = *a.kept;
  k.result = result;
  k.request.assign(result.request);
  k.response.assign(result.response);
  k.server.assign(result.server);
  k.detail.assign(result.detail);
  k.result.request = k.request;
  k.result.response = k.response;
  k.result.server = k.server;
  k.result.detail = k.detail;
}

void HealthChecker::note_retry_after(std::uint32_t address, const ProbeResult& result,
                                     TimePoint now) {
  // RFC 3261 21.5.4: the peer says when to come back; an hour at most, so that a typo on
  // the peer's side cannot silence a trunk for days.
  constexpr std::uint32_t kMaxPauseSeconds = 3600;
  Address& a = *addresses_[address];
  const bool refusing = result.degraded || result.status_code >= 500;
  if (refusing && result.retry_after && *result.retry_after > 0) {
    const std::chrono::seconds pause(std::min(*result.retry_after, kMaxPauseSeconds));
    a.paused_until = now + pause;
    s_.sink.address_paused(a.target, address, pause);
  } else if (a.paused_until != TimePoint{}) {
    a.paused_until = TimePoint{};
    s_.sink.address_paused(a.target, address, std::chrono::seconds(0));
  }
}

// `last` is the address whose exchange ended the cycle just now, with its `result`; the
// others finished earlier and kept theirs.
void HealthChecker::finish_cycle(std::uint32_t slot, std::uint32_t last, const ProbeResult& result,
                                 TimePoint now) {
  Target& t = *targets_[slot];
  const bool want_all = t.cfg().shared->up_when == UpWhen::all;
  bool any_ok = false;
  bool all_ok = true;
  const Address* first = nullptr;
  const Address* chosen = nullptr;
  // The reported exchange: the first address that decided the verdict, in RFC 3263 order.
  for (const std::uint32_t address : t.addresses) {
    const Address& a = *addresses_[address];
    if (!a.in_cycle) continue;
    if (first == nullptr) first = &a;
    any_ok = any_ok || a.success;
    all_ok = all_ok && a.success;
    if (chosen == nullptr && a.success != want_all) chosen = &a;
  }
  if (chosen == nullptr) chosen = first;
  const bool success = first != nullptr && (want_all ? all_ok : any_ok);
  if (!success) {
    // An address that answers "alive, refusing" makes the target degraded, not down: report it.
    for (const std::uint32_t address : t.addresses) {
      const Address& a = *addresses_[address];
      if (a.in_cycle && a.degraded) {
        chosen = &a;
        break;
      }
    }
  }
  ProbeResult r;
  if (chosen == addresses_[last]) {
    r = result;
  } else if (chosen != nullptr && chosen->kept) {  // always kept: it finished before `last`
    r = chosen->kept->result;
  }
  r.success = success;
  r.degraded = !success && r.degraded;
  for (const std::uint32_t address : t.addresses) addresses_[address]->in_cycle = false;
  report_cycle(slot, r, now);
}

void HealthChecker::fail_cycle(std::uint32_t slot, FailureReason reason, std::string_view detail,
                               TimePoint now) {
  Target& t = *targets_[slot];
  t.awaiting_dns = false;
  for (const std::uint32_t address : t.addresses) addresses_[address]->in_cycle = false;
  ProbeResult r;
  r.reason = reason;
  r.detail = detail;
  report_cycle(slot, r, now);
}

void HealthChecker::report_cycle(std::uint32_t slot, ProbeResult& r, TimePoint now) {
  Target& t = *targets_[slot];
  t.cycle_open = false;
  stamps_[slot].cycle_open = false;
  r.duration = now - t.cycle_started;
  r.dns_lookup = t.cycle_dns;
  if (!t.probe.background) {
    const OneShotDone done = std::move(t.aside->done);
    done(r);
    retire_one_shot(slot, now);
    return;
  }
  --in_flight_;
  const std::uint32_t gen = t.generation;
  const StateChange change = t.state.record(verdict_of(r), t.cfg().shared->failures_before_down,
                                            t.cfg().shared->successes_before_up);
  s_.sink.probe_finished(slot, r, change, t.state);
  if (targets_[slot] && targets_[slot]->generation == gen) schedule_next(slot, now);
}

}  // namespace stx
