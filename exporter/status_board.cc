#include "exporter/status_board.h"

#include <algorithm>
#include <chrono>

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

void StatusBoard::add_target(std::size_t slot, const TargetConfig& target) {
  auto e = std::make_unique<Entry>();
  e->status.name = target.name;
  e->status.labels = target.labels;
  e->status.uri = target.uri;
  e->status.state = std::string(to_string(Health::unknown));
  std::lock_guard lock(mu_);
  if (entries_.size() <= slot) entries_.resize(slot + 1);
  entries_[slot] = std::move(e);
}

void StatusBoard::remove_target(std::size_t slot) {
  std::unique_ptr<Entry> gone;  // freed outside the lock
  std::lock_guard lock(mu_);
  if (slot < entries_.size()) gone = std::move(entries_[slot]);
}

void StatusBoard::record(std::size_t slot, const ProbeResult& r, const TargetState& state,
                         const StateChange& change, double unix_now) {
  std::lock_guard lock(mu_);
  if (slot >= entries_.size() || !entries_[slot]) return;
  Entry& e = *entries_[slot];
  TargetStatus& s = e.status;
  s.state = to_string(state.health);
  s.last_code = r.status_code;
  if (r.status_code != 0) {
    s.last_rtt_seconds = seconds(r.rtt);
    assign_capped(s.server, r.server);
  }
  if (r.status_code >= 200 && r.status_code < 300 &&
      !(r.allow.empty() && r.supported.empty() && r.accept.empty())) {
    assign_capped(s.allow, r.allow);
    assign_capped(s.supported, r.supported);
    assign_capped(s.accept, r.accept);
  }
  s.consecutive_failures = state.consecutive_failures;
  if (change.changed()) s.last_change_unix = unix_now;
  e.rtts[e.rtt_count++ % kRecentRtts] =
      r.status_code != 0 ? static_cast<float>(seconds(r.rtt)) : -1.0F;
  Exchange& x = e.exchanges[e.exchange_count++ % kExchanges];
  x.unix_time = unix_now;
  x.success = r.success;
  x.code = r.status_code;
  x.reason = r.reason;
  x.rtt_seconds = r.status_code != 0 ? seconds(r.rtt) : -1;
  x.duration_seconds = static_cast<float>(seconds(r.duration));
  x.transmissions = static_cast<std::uint16_t>(std::min(r.transmissions, 0xffff));
  x.response = texts_.put(r.response.substr(0, kMaxText));
  if (has_credentials(r.request)) {
    scratch_ = redact_credentials(r.request);
    e.last_request = texts_.put(std::string_view(scratch_).substr(0, kMaxText));
  } else {
    e.last_request = texts_.put(r.request.substr(0, kMaxText));
  }
}

void StatusBoard::add_address(std::size_t slot, std::size_t address, const Destination& d) {
  AddressStatus a;
  a.address = to_string(d);
  a.transport = std::string(to_string(d.transport));
  a.state = std::string(to_string(Health::unknown));
  std::lock_guard lock(mu_);
  if (slot >= entries_.size() || !entries_[slot]) return;
  entries_[slot]->addresses.emplace_back(address, std::move(a));
}

void StatusBoard::remove_address(std::size_t slot, std::size_t address) {
  std::lock_guard lock(mu_);
  if (slot >= entries_.size() || !entries_[slot]) return;
  auto& v = entries_[slot]->addresses;
  std::erase_if(v, [&](const auto& e) { return e.first == address; });
}

AddressStatus* StatusBoard::address_of(std::size_t slot, std::size_t address) {
  if (slot >= entries_.size() || !entries_[slot]) return nullptr;
  for (auto& [id, a] : entries_[slot]->addresses) {
    if (id == address) return &a;
  }
  return nullptr;
}

void StatusBoard::record_address(std::size_t slot, std::size_t address, const ProbeResult& r,
                                 const TargetState& state) {
  std::lock_guard lock(mu_);
  AddressStatus* a = address_of(slot, address);
  if (a == nullptr) return;
  a->state = to_string(state.health);
  a->last_code = r.status_code;
  a->reason.assign(to_string(r.reason));
  if (r.status_code != 0) a->last_rtt_seconds = seconds(r.rtt);
}

void StatusBoard::tls_peer(std::size_t slot, std::size_t address, const TlsPeerInfo& info) {
  std::lock_guard lock(mu_);
  AddressStatus* a = address_of(slot, address);
  if (a == nullptr) return;
  if (!info.version.empty()) a->tls = info.version + " " + info.cipher;
  if (info.cert_expiry) a->cert_expiry_unix = *info.cert_expiry;
}

void StatusBoard::address_paused(std::size_t slot, std::size_t address, double until_unix) {
  std::lock_guard lock(mu_);
  AddressStatus* a = address_of(slot, address);
  if (a != nullptr) a->paused_until_unix = until_unix;
}

TargetStatus StatusBoard::export_entry(const Entry& e, bool with_exchanges) const {
  TargetStatus s = e.status;
  const std::size_t n_rtts = std::min(e.rtt_count, kRecentRtts);
  s.recent_rtts.reserve(n_rtts);
  for (std::size_t i = e.rtt_count - n_rtts; i < e.rtt_count; ++i) {
    s.recent_rtts.push_back(e.rtts[i % kRecentRtts]);
  }
  const std::size_t n = std::min(e.exchange_count, with_exchanges ? kExchanges : 1);
  for (std::size_t i = 0; i < n; ++i) {  // newest first
    const Exchange& x = e.exchanges[(e.exchange_count - 1 - i) % kExchanges];
    ExchangeRecord& out = s.exchanges.emplace_back();
    out.unix_time = x.unix_time;
    out.success = x.success;
    out.code = x.code;
    out.reason = to_string(x.reason);
    out.rtt_seconds = x.rtt_seconds;
    out.duration_seconds = x.duration_seconds;
    out.transmissions = x.transmissions;
    // The list page shows the newest result (its failure reason), not the texts.
    if (with_exchanges && !texts_.get(x.response, out.response)) out.response = kTextDropped;
  }
  if (!with_exchanges) return s;
  if (!s.exchanges.empty() && !texts_.get(e.last_request, s.exchanges.front().request)) {
    s.exchanges.front().request = kTextDropped;
  }
  for (const auto& [id, a] : e.addresses) s.addresses.push_back(a);
  return s;
}

StatusSnapshot StatusBoard::snapshot(double unix_now) const {
  StatusSnapshot snap;
  snap.now_unix = unix_now;
  snap.version = kVersion;
  snap.revision = kRevision;
  {
    std::lock_guard lock(mu_);
    for (const auto& e : entries_) {
      if (e) snap.targets.push_back(export_entry(*e, false));
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
  for (const auto& e : entries_) {
    if (e && e->status.name == name) {
      snap.targets.push_back(export_entry(*e, true));
      break;
    }
  }
  return snap;
}

}  // namespace stx
