#include "exporter/status_board.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "sip/redact.h"
#include "version.h"

namespace stx {
namespace {

// Assigns at most StatusBoard::kMaxText bytes, reusing the string's buffer.
void assign_capped(std::string& to, std::string_view from) {
  to.assign(from.substr(0, StatusBoard::kMaxText));
}

constexpr std::string_view kTextDropped =
    "(no longer kept: the exporter keeps the newest 16 MiB of exchange texts of all targets)";

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

namespace {
constexpr double kRttUnit = 1e-6;   // pack_rtt's 1 us
constexpr double kRttSteps = 2048;  // per doubling
}  // namespace

std::uint16_t StatusBoard::pack_rtt(double seconds) {
  const double steps = std::round(std::log2(std::max(seconds, kRttUnit) / kRttUnit) * kRttSteps);
  return static_cast<std::uint16_t>(1 + std::min(steps, 65534.0));
}

double StatusBoard::unpack_rtt(std::uint16_t packed) {
  if (packed == 0) return -1;
  return kRttUnit * std::exp2((packed - 1) / kRttSteps);
}

void StatusBoard::add_target(std::size_t slot, std::shared_ptr<const TargetConfig> target) {
  std::lock_guard lock(mu_);
  entries_.emplace(slot).config = std::move(target);
}

void StatusBoard::keep_target(std::size_t slot, std::shared_ptr<const TargetConfig> target) {
  std::shared_ptr<const TargetConfig> old;  // perhaps the last hold on the old list: freed unlocked
  std::lock_guard lock(mu_);
  old = std::exchange(entries_[slot]->config, std::move(target));
}

void StatusBoard::remove_target(std::size_t slot) {
  std::lock_guard lock(mu_);
  if (entries_[slot] != nullptr) entries_.erase(slot);
}

void StatusBoard::record(std::size_t slot, const ProbeResult& r, const TargetState& state,
                         const StateChange& change, double unix_now) {
  std::lock_guard lock(mu_);
  if (entries_[slot] == nullptr) return;
  Entry& e = *entries_[slot];
  e.state = state.health;
  if (r.status_code != 0) e.last_rtt_seconds = seconds(r.rtt);
  record_heard(e, r);
  e.consecutive_failures = state.consecutive_failures;
  if (change.changed()) e.last_change_unix = unix_now;
  keep_older(e);
  e.rtts[e.rtt_count++ % kRecentRtts] = r.status_code != 0 ? pack_rtt(seconds(r.rtt)) : 0;
  Exchange& x = e.newest;
  x.unix_time = unix_now;
  x.success = r.success;
  x.code = static_cast<std::int16_t>(r.status_code);  // 0 or 100-699
  x.reason = r.reason;
  x.rtt_seconds = r.status_code != 0 ? static_cast<float>(seconds(r.rtt)) : -1;
  x.duration_seconds = static_cast<float>(seconds(r.duration));
  x.transmissions = static_cast<std::uint16_t>(std::min(r.transmissions, 0xffff));
  const TextRing::Ref response = texts_.put(r.response.substr(0, kMaxText));
  x.response_at = response.at;
  x.response_size = static_cast<std::uint16_t>(response.size);
  std::string_view request = r.request;
  if (r.request_has_credentials) {
    scratch_ = redact_credentials(request);
    request = scratch_;
  }
  const TextRing::Ref stored = texts_.put(request.substr(0, kMaxText));
  e.last_request_at = stored.at;
  e.last_request_size = static_cast<std::uint16_t>(stored.size);
}

// The newest exchange so far goes to the ring, in front of the older ones it names.
void StatusBoard::keep_older(Entry& e) {
  if (e.rtt_count == 0) return;  // no exchange yet
  const StoredExchange stored{e.newest, e.older_at};
  e.older_at = texts_.put({reinterpret_cast<const char*>(&stored), sizeof stored}).at;
}

// Server of every answer, Allow/Supported/Accept of a 2xx that carried any; the strings
// are made the first time there is something to keep (never for an unanswered target).
void StatusBoard::record_heard(Entry& e, const ProbeResult& r) {
  const bool answered = r.status_code != 0;
  const bool capabilities = r.status_code >= 200 && r.status_code < 300 &&
                            !(r.allow.empty() && r.supported.empty() && r.accept.empty());
  if (!e.heard && (!answered || r.server.empty()) && !capabilities) return;
  if (!e.heard) e.heard = std::make_unique<Heard>();
  if (answered) assign_capped(e.heard->server, r.server);
  if (capabilities) {
    assign_capped(e.heard->allow, r.allow);
    assign_capped(e.heard->supported, r.supported);
    assign_capped(e.heard->accept, r.accept);
  }
}

void StatusBoard::add_address(std::size_t slot, std::size_t address, const Destination& d) {
  std::lock_guard lock(mu_);
  if (entries_[slot] == nullptr) return;
  Address& a = entries_[slot]->addresses.emplace_back();
  a.id = static_cast<std::uint32_t>(address);
  a.dest = d;
}

void StatusBoard::remove_address(std::size_t slot, std::size_t address) {
  std::lock_guard lock(mu_);
  if (entries_[slot] == nullptr) return;
  auto& v = entries_[slot]->addresses;
  v.erase(std::remove_if(v.begin(), v.end(), [&](const Address& a) { return a.id == address; }),
          v.end());
}

const StatusBoard::Address* StatusBoard::address_of(std::size_t slot, std::size_t address) const {
  if (entries_[slot] == nullptr) return nullptr;
  for (const Address& a : entries_[slot]->addresses) {
    if (a.id == address) return &a;
  }
  return nullptr;
}

StatusBoard::Address* StatusBoard::address_of(std::size_t slot, std::size_t address) {
  return const_cast<Address*>(std::as_const(*this).address_of(slot, address));
}

std::string StatusBoard::name_of(std::size_t slot) const {
  std::lock_guard lock(mu_);
  const Entry* e = entries_[slot];
  return e != nullptr ? e->config->name : std::string();
}

std::string StatusBoard::address_label(std::size_t slot, std::size_t address) const {
  std::lock_guard lock(mu_);
  const Address* a = address_of(slot, address);
  return a != nullptr ? to_string(a->dest) : std::string();
}

void StatusBoard::record_address(std::size_t slot, std::size_t address, const ProbeResult& r,
                                 const TargetState& state) {
  std::lock_guard lock(mu_);
  Address* a = address_of(slot, address);
  if (a == nullptr) return;
  a->state = state.health;
  a->last_code = r.status_code;
  a->recorded = true;
  a->reason = r.reason;
  if (r.status_code != 0) a->last_rtt_seconds = seconds(r.rtt);
}

void StatusBoard::tls_peer(std::size_t slot, std::size_t address, const TlsPeerInfo& info) {
  std::lock_guard lock(mu_);
  Address* a = address_of(slot, address);
  if (a == nullptr) return;
  if (!info.version.empty()) a->extras().tls = info.version + " " + info.cipher;
  if (info.cert_expiry) a->extras().cert_expiry_unix = *info.cert_expiry;
}

void StatusBoard::address_paused(std::size_t slot, std::size_t address, double until_unix) {
  std::lock_guard lock(mu_);
  Address* a = address_of(slot, address);
  if (a != nullptr && (a->extra || until_unix != 0)) a->extras().paused_until_unix = until_unix;
}

AddressStatus StatusBoard::export_address(const Address& a) {
  AddressStatus out;
  out.address = to_string(a.dest);
  out.transport = to_string(a.dest.transport);
  out.state = to_string(a.state);
  out.last_code = a.last_code;
  if (a.recorded) out.reason = to_string(a.reason);
  out.last_rtt_seconds = a.last_rtt_seconds;
  if (a.extra) {
    out.tls = a.extra->tls;
    out.cert_expiry_unix = a.extra->cert_expiry_unix;
    out.paused_until_unix = a.extra->paused_until_unix;
  }
  return out;
}

ExchangeRecord StatusBoard::export_exchange(const Exchange& x, bool with_text) const {
  ExchangeRecord out;
  out.unix_time = x.unix_time;
  out.success = x.success;
  out.code = x.code;
  out.reason = to_string(x.reason);
  out.rtt_seconds = x.rtt_seconds;
  out.duration_seconds = x.duration_seconds;
  out.transmissions = x.transmissions;
  if (with_text && !texts_.get(x.response(), out.response)) out.response = kTextDropped;
  return out;
}

TargetStatus StatusBoard::export_entry(const Entry& e, bool with_exchanges) const {
  TargetStatus s;
  s.name = e.config->name;
  s.labels = e.config->labels;
  s.uri = e.config->uri;
  s.state = to_string(e.state);
  s.last_code = e.rtt_count > 0 ? e.newest.code : 0;
  s.last_rtt_seconds = e.last_rtt_seconds;
  s.consecutive_failures = e.consecutive_failures;
  s.last_change_unix = e.last_change_unix;
  if (e.heard) {
    s.server = e.heard->server;
    s.allow = e.heard->allow;
    s.supported = e.heard->supported;
    s.accept = e.heard->accept;
  }
  const std::size_t count = e.rtt_count;
  const std::size_t n_rtts = std::min(count, kRecentRtts);
  s.recent_rtts.reserve(n_rtts);
  for (std::size_t i = count - n_rtts; i < count; ++i) {
    s.recent_rtts.push_back(unpack_rtt(e.rtts[i % kRecentRtts]));
  }
  // The list page shows the newest result (its failure reason), not the texts.
  if (e.rtt_count > 0) s.exchanges.push_back(export_exchange(e.newest, with_exchanges));
  if (!with_exchanges) return s;
  if (e.rtt_count > 0) {
    StoredExchange older;
    for (std::uint64_t at = e.older_at; at != kNoOlder && s.exchanges.size() < kExchanges;
         at = older.older_at) {
      // Once one is overwritten, the ones before it are too.
      if (!texts_.get(TextRing::Ref{at, sizeof older}, &older)) break;
      s.exchanges.push_back(export_exchange(older.exchange, true));
    }
    if (!texts_.get(e.last_request(), s.exchanges.front().request)) {
      s.exchanges.front().request = kTextDropped;
    }
  }
  for (const Address& a : e.addresses) s.addresses.push_back(export_address(a));
  return s;
}

StatusSnapshot StatusBoard::snapshot(double unix_now) const {
  StatusSnapshot snap;
  snap.now_unix = unix_now;
  snap.version = kVersion;
  snap.revision = kRevision;
  {
    std::lock_guard lock(mu_);
    for (std::size_t slot = 0; slot < entries_.size(); ++slot) {
      if (const Entry* e = entries_[slot]) snap.targets.push_back(export_entry(*e, false));
    }
  }
  std::sort(snap.targets.begin(), snap.targets.end(),
            [](const TargetStatus& a, const TargetStatus& b) { return a.name < b.name; });
  return snap;
}

StatusSnapshot StatusBoard::snapshot_of(std::string_view name, double unix_now) const {
  StatusSnapshot snap;
  snap.now_unix = unix_now;
  snap.version = kVersion;
  snap.revision = kRevision;
  std::lock_guard lock(mu_);
  for (std::size_t slot = 0; slot < entries_.size(); ++slot) {
    if (const Entry* e = entries_[slot]; e != nullptr && e->config->name == name) {
      snap.targets.push_back(export_entry(*e, true));
      break;
    }
  }
  return snap;
}

}  // namespace stx
