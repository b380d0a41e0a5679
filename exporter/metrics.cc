#include "exporter/metrics.h"

#include <algorithm>
#include <chrono>

#include "exporter/exposition.h"
#include "version.h"

namespace stx {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

constexpr std::size_t kMaxServerLabel = 128;
constexpr const char* kTargetInfo = "sip_target_info";
constexpr const char* kTargetInfoHelp =
    "Target description; server is the Server (or User-Agent) header of the last response.";

prometheus::Labels with(prometheus::Labels base,
                        std::initializer_list<std::pair<const char*, std::string>> extra) {
  for (const auto& [k, v] : extra) base[k] = v;
  return base;
}

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// The configured transport; RFC 3263 makes a literal host or an explicit port udp, and
// leaves only a bare hostname to DNS ("auto").
std::string transport_label(const TargetConfig& t) {
  if (t.transport) return std::string(to_string(*t.transport));
  if (t.parsed_uri.host_kind != HostKind::name || t.parsed_uri.port != 0) return "udp";
  return "auto";
}

}  // namespace

Metrics::Metrics(const Config& config)
    : registry_(std::make_shared<prometheus::Registry>()),
      up_(BuildGauge()
              .Name("sip_target_up")
              .Help("1 if the target answers healthy OPTIONS (after hysteresis), 0 otherwise.")
              .Register(*registry_)),
      probes_(BuildCounter()
                  .Name("sip_probes_total")
                  .Help("Finished probes by result (success or failure).")
                  .Register(*registry_)),
      responses_(BuildCounter()
                     .Name("sip_probe_responses_total")
                     .Help("Final responses to probes by SIP status code.")
                     .Register(*registry_)),
      failures_(BuildCounter()
                    .Name("sip_probe_failures_total")
                    .Help("Probes that got no final response, by reason.")
                    .Register(*registry_)),
      rtt_(BuildHistogram()
               .Name("sip_probe_rtt_seconds")
               .Help("Time from the first transmission of a probe to its final response.")
               .Register(*registry_)),
      last_rtt_(BuildGauge()
                    .Name("sip_target_last_rtt_seconds")
                    .Help("RTT of the last probe that got a final response.")
                    .Register(*registry_)),
      last_code_(BuildGauge()
                     .Name("sip_target_last_status_code")
                     .Help("Final status code of the last probe, 0 if it got none.")
                     .Register(*registry_)),
      consecutive_failures_(BuildGauge()
                                .Name("sip_target_consecutive_failures")
                                .Help("Failed probes in a row.")
                                .Register(*registry_)),
      state_changes_(BuildCounter()
                         .Name("sip_target_state_changes_total")
                         .Help("Transitions between up and down.")
                         .Register(*registry_)),
      last_change_(BuildGauge()
                       .Name("sip_target_last_change_timestamp_seconds")
                       .Help("Unix time the target entered its current state, 0 while unknown.")
                       .Register(*registry_)),
      build_info_(BuildGauge()
                      .Name("sip_exporter_build_info")
                      .Help("Version and git revision of the running exporter.")
                      .Register(*registry_)),
      unmatched_(BuildCounter()
                     .Name("sip_exporter_unmatched_responses_total")
                     .Help("SIP responses that matched no open probe (late, duplicated, "
                           "spoofed or with foreign identifiers); dropped.")
                     .Register(*registry_)),
      invalid_(BuildCounter()
                   .Name("sip_exporter_invalid_messages_total")
                   .Help("Received datagrams that were not a valid SIP response; dropped.")
                   .Register(*registry_)),
      in_flight_family_(BuildGauge()
                            .Name("sip_exporter_probes_in_flight")
                            .Help("Probes started and not yet finished.")
                            .Register(*registry_)),
      buckets_(config.exporter.rtt_buckets),
      reload_ok_(BuildGauge()
                     .Name("sip_exporter_config_last_reload_successful")
                     .Help("1 if the last configuration load or reload succeeded.")
                     .Register(*registry_)),
      reload_time_(BuildGauge()
                       .Name("sip_exporter_config_last_reload_success_timestamp_seconds")
                       .Help("Unix time of the last successful configuration load or reload.")
                       .Register(*registry_)),
      address_up_(BuildGauge()
                      .Name("sip_address_up")
                      .Help("1 if this address of the target answers healthy OPTIONS (after "
                            "hysteresis), 0 otherwise.")
                      .Register(*registry_)),
      address_rtt_(BuildGauge()
                       .Name("sip_address_last_rtt_seconds")
                       .Help("RTT of the last probe of this address that got a final response.")
                       .Register(*registry_)),
      cert_expiry_(BuildGauge()
                       .Name("sip_tls_cert_expiry_timestamp_seconds")
                       .Help("Unix time the earliest-expiring certificate of the peer's chain "
                             "expires (also set when verification failed).")
                       .Register(*registry_)),
      tls_info_(BuildGauge()
                    .Name("sip_tls_info")
                    .Help("TLS version and cipher of the last handshake with this address.")
                    .Register(*registry_)),
      keepalives_(BuildCounter()
                      .Name("sip_keepalives_total")
                      .Help("RFC 5626 CRLF keepalive pings on TCP/TLS connections, by result "
                            "(success: the pong came back).")
                      .Register(*registry_)) {
  build_info_.Add({{"version", kVersion}, {"revision", kRevision}}).Set(1);
  unmatched_total_ = &unmatched_.Add({});
  in_flight_ = &in_flight_family_.Add({});
  // Fine buckets at the bottom: a healthy loop starts probes well under a millisecond late.
  lateness_ = &BuildHistogram()
                   .Name("sip_exporter_schedule_lateness_seconds")
                   .Help("How late scheduled probes started: actual minus planned start time.")
                   .Register(*registry_)
                   .Add({}, prometheus::Histogram::BucketBoundaries{
                                0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                0.05, 0.1, 0.25, 1});
}

void Metrics::add_target(std::size_t slot, const TargetConfig& t) {
  auto series = std::make_unique<TargetSeries>();
  TargetSeries& s = *series;
  s.base["target"] = t.name;
  for (const auto& [k, v] : t.labels) s.base[k] = v;
  s.uri = t.uri;
  s.transport = transport_label(t);
  s.up = &up_.Add(s.base);
  s.success = &probes_.Add(with(s.base, {{"result", "success"}}));
  s.failure = &probes_.Add(with(s.base, {{"result", "failure"}}));
  // Every reason exists from the start, so rate() and absent() behave from the first scrape.
  for (FailureReason r : kAllFailureReasons) {
    s.failures.emplace_back(r,
                            &failures_.Add(with(s.base, {{"reason", std::string(to_string(r))}})));
  }
  s.rtt = &rtt_.Add(s.base, buckets_);
  s.last_rtt = &last_rtt_.Add(s.base);
  s.last_code = &last_code_.Add(s.base);
  s.consecutive_failures = &consecutive_failures_.Add(s.base);
  s.state_changes = &state_changes_.Add(s.base);
  s.last_change = &last_change_.Add(s.base);
  std::lock_guard lock(info_mu_);
  if (targets_.size() <= slot) targets_.resize(slot + 1);
  targets_[slot] = std::move(series);
}

void Metrics::remove_target(std::size_t slot, bool probe_in_flight) {
  if (probe_in_flight) in_flight_->Decrement();
  std::unique_ptr<TargetSeries> s;
  {
    std::lock_guard lock(info_mu_);
    s = std::move(targets_.at(slot));
  }
  if (!s) return;
  up_.Remove(s->up);
  probes_.Remove(s->success);
  probes_.Remove(s->failure);
  for (auto& [reason, counter] : s->failures) failures_.Remove(counter);
  for (auto& [code, counter] : s->responses) responses_.Remove(counter);
  rtt_.Remove(s->rtt);
  last_rtt_.Remove(s->last_rtt);
  last_code_.Remove(s->last_code);
  consecutive_failures_.Remove(s->consecutive_failures);
  state_changes_.Remove(s->state_changes);
  last_change_.Remove(s->last_change);
}

void Metrics::config_reloaded(bool success, double wall_seconds) {
  reload_ok_.Add({}).Set(success ? 1 : 0);
  if (success) reload_time_.Add({}).Set(wall_seconds);
}

void Metrics::set_info(TargetSeries& s, std::string_view server) {
  if (s.server == server) return;
  std::lock_guard lock(info_mu_);
  s.server = std::string(server);
}

// sip_target_info is written from TargetSeries at scrape time instead of held as a
// prometheus-cpp series: its server label changes with the peer's first answer, and
// Family::Remove scans the whole family, which made the first interval of a 10,000-target
// start quadratic.
prometheus::MetricFamily Metrics::collect_info() const {
  prometheus::MetricFamily family;
  family.name = kTargetInfo;
  family.help = kTargetInfoHelp;
  family.type = prometheus::MetricType::Gauge;
  std::lock_guard lock(info_mu_);
  family.metric.reserve(targets_.size());
  for (const auto& s : targets_) {
    if (!s) continue;
    prometheus::ClientMetric m;
    const auto labels =
        with(s->base, {{"uri", s->uri}, {"transport", s->transport}, {"server", s->server}});
    m.label.reserve(labels.size());
    for (const auto& [k, v] : labels) m.label.push_back({k, v});
    m.gauge.value = 1;
    family.metric.push_back(std::move(m));
  }
  return family;
}

prometheus::Counter& Metrics::response_counter(TargetSeries& s, int code) {
  for (auto& [c, counter] : s.responses) {
    if (c == code) return *counter;
  }
  auto& counter = responses_.Add(with(s.base, {{"code", std::to_string(code)}}));
  s.responses.emplace_back(code, &counter);
  return counter;
}

void Metrics::probe_started() { in_flight_->Increment(); }

void Metrics::schedule_lateness(std::chrono::nanoseconds late) {
  lateness_->Observe(seconds(std::max(late, std::chrono::nanoseconds::zero())));
}

void Metrics::probe_finished(std::size_t target, const ProbeResult& r, const StateChange& change,
                             const TargetState& state, double wall_seconds) {
  in_flight_->Decrement();
  TargetSeries& s = *targets_.at(target);
  (r.success ? s.success : s.failure)->Increment();
  if (r.status_code != 0) {
    response_counter(s, r.status_code).Increment();
    s.rtt->Observe(seconds(r.rtt));
    s.last_rtt->Set(seconds(r.rtt));
    sanitize_label_value(r.server, server_scratch_);  // reused buffer: no allocation per probe
    set_info(s, server_scratch_);
  } else {
    for (auto& [reason, counter] : s.failures) {
      if (reason == r.reason) counter->Increment();
    }
  }
  s.last_code->Set(r.status_code);
  s.consecutive_failures->Set(state.consecutive_failures);
  if (change.is_transition()) s.state_changes->Increment();
  if (change.changed()) s.last_change->Set(wall_seconds);
  s.up->Set(state.health == Health::up ? 1 : 0);
}

void Metrics::unmatched_response() { unmatched_total_->Increment(); }

void Metrics::add_address(std::size_t target, std::size_t address, const Destination& d) {
  if (addresses_.size() <= address) addresses_.resize(address + 1);
  auto series = std::make_unique<AddressSeries>();
  AddressSeries& a = *series;
  a.base = targets_.at(target)->base;
  a.base["address"] = to_string(d);
  a.transport = std::string(to_string(d.transport));
  a.up = &address_up_.Add(with(a.base, {{"transport", a.transport}}));
  a.last_rtt = &address_rtt_.Add(with(a.base, {{"transport", a.transport}}));
  addresses_[address] = std::move(series);
}

void Metrics::remove_address(std::size_t address) {
  if (address >= addresses_.size() || !addresses_[address]) return;
  std::unique_ptr<AddressSeries> a = std::move(addresses_[address]);
  address_up_.Remove(a->up);
  address_rtt_.Remove(a->last_rtt);
  if (a->cert_expiry != nullptr) cert_expiry_.Remove(a->cert_expiry);
  if (a->tls_info != nullptr) tls_info_.Remove(a->tls_info);
  if (a->keepalive_ok != nullptr) keepalives_.Remove(a->keepalive_ok);
  if (a->keepalive_failed != nullptr) keepalives_.Remove(a->keepalive_failed);
}

void Metrics::address_finished(std::size_t address, const ProbeResult& r,
                               const TargetState& state) {
  AddressSeries& a = *addresses_.at(address);
  if (r.status_code != 0) a.last_rtt->Set(seconds(r.rtt));
  a.up->Set(state.health == Health::up ? 1 : 0);
}

void Metrics::tls_peer(std::size_t address, const TlsPeerInfo& info) {
  AddressSeries& a = *addresses_.at(address);
  if (info.cert_expiry) {
    if (a.cert_expiry == nullptr) a.cert_expiry = &cert_expiry_.Add(a.base);
    a.cert_expiry->Set(*info.cert_expiry);
  }
  if (info.version.empty()) return;  // the handshake failed: no version or cipher to show
  if (a.tls_info != nullptr && a.tls_version == info.version && a.tls_cipher == info.cipher) {
    return;
  }
  if (a.tls_info != nullptr) tls_info_.Remove(a.tls_info);
  a.tls_version = sanitize_label_value(info.version);
  a.tls_cipher = sanitize_label_value(info.cipher);
  a.tls_info = &tls_info_.Add(with(a.base, {{"version", a.tls_version}, {"cipher", a.tls_cipher}}));
  a.tls_info->Set(1);
}

void Metrics::keepalive_finished(std::size_t address, bool ok) {
  AddressSeries& a = *addresses_.at(address);
  if (a.keepalive_ok == nullptr) {
    a.keepalive_ok = &keepalives_.Add(with(a.base, {{"result", "success"}}));
    a.keepalive_failed = &keepalives_.Add(with(a.base, {{"result", "failure"}}));
  }
  (ok ? a.keepalive_ok : a.keepalive_failed)->Increment();
}

void Metrics::invalid_message(std::string_view why) {
  // `why` is one of a small fixed set of parse error names, so cardinality stays bounded;
  // counters are cached because a flood of junk must not cost a Family::Add each.
  for (auto& [reason, counter] : invalid_by_reason_) {
    if (reason == why) {
      counter->Increment();
      return;
    }
  }
  auto& counter = invalid_.Add({{"reason", std::string(why)}});
  invalid_by_reason_.emplace_back(std::string(why), &counter);
  counter.Increment();
}

std::string Metrics::serialize() const {
  std::string out;
  out.reserve(last_size_.load(std::memory_order_relaxed) + 4096);
  auto families = registry_->Collect();
  // In its old place, after the other per-target families.
  auto at = std::find_if(families.begin(), families.end(), [](const auto& f) {
    return f.name == "sip_target_last_change_timestamp_seconds";
  });
  families.insert(at == families.end() ? at : at + 1, collect_info());
  write_exposition(families, out);
  last_size_.store(out.size(), std::memory_order_relaxed);
  return out;
}

std::string Metrics::sanitize_label_value(std::string_view v) {
  std::string out;
  sanitize_label_value(v, out);
  return out;
}

void Metrics::sanitize_label_value(std::string_view v, std::string& out) {
  out.clear();
  bool space = false;
  for (unsigned char c : v) {
    if (out.size() >= kMaxServerLabel) break;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (space) {
      out += ' ';
      space = false;
    }
    out += (c < 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
  }
}

}  // namespace stx
