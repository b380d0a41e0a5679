#include "exporter/metrics.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>

#include "exporter/exposition.h"
#include "version.h"

namespace stx {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

constexpr std::size_t kMaxServerLabel = 128;
// Series written per lock of mu_ during a scrape.
constexpr std::size_t kScrapeBlock = 64;

struct FamilyInfo {
  const char* name;
  const char* help;
  const char* type;
};

constexpr FamilyInfo kUp{"sip_target_up",
                         "1 if the target answers healthy OPTIONS (after hysteresis), 0 otherwise.",
                         "gauge"};
constexpr FamilyInfo kProbes{"sip_probes_total", "Finished probes by result (success or failure).",
                             "counter"};
constexpr FamilyInfo kResponses{"sip_probe_responses_total",
                                "Final responses to probes by SIP status code.", "counter"};
constexpr FamilyInfo kFailures{"sip_probe_failures_total",
                               "Probes that got no final response, by reason.", "counter"};
constexpr FamilyInfo kRtt{"sip_probe_rtt_seconds",
                          "Time from the first transmission of a probe to its final response.",
                          "histogram"};
constexpr FamilyInfo kLastRtt{"sip_target_last_rtt_seconds",
                              "RTT of the last probe that got a final response.", "gauge"};
constexpr FamilyInfo kLastCode{"sip_target_last_status_code",
                               "Final status code of the last probe, 0 if it got none.", "gauge"};
constexpr FamilyInfo kConsecutive{"sip_target_consecutive_failures", "Failed probes in a row.",
                                  "gauge"};
constexpr FamilyInfo kStateChanges{"sip_target_state_changes_total",
                                   "Transitions between up and down.", "counter"};
constexpr FamilyInfo kLastChange{"sip_target_last_change_timestamp_seconds",
                                 "Unix time the target entered its current state, 0 while unknown.",
                                 "gauge"};
constexpr FamilyInfo kInfo{
    "sip_target_info",
    "Target description; server is the Server (or User-Agent) header of the last response.",
    "gauge"};
constexpr FamilyInfo kAddressUp{"sip_address_up",
                                "1 if this address of the target answers healthy OPTIONS (after "
                                "hysteresis), 0 otherwise.",
                                "gauge"};
constexpr FamilyInfo kAddressRtt{"sip_address_last_rtt_seconds",
                                 "RTT of the last probe of this address that got a final response.",
                                 "gauge"};
constexpr FamilyInfo kCertExpiry{"sip_tls_cert_expiry_timestamp_seconds",
                                 "Unix time the earliest-expiring certificate of the peer's chain "
                                 "expires (also set when verification failed).",
                                 "gauge"};
constexpr FamilyInfo kTlsInfo{
    "sip_tls_info", "TLS version and cipher of the last handshake with this address.", "gauge"};
constexpr FamilyInfo kKeepalives{"sip_keepalives_total",
                                 "RFC 5626 CRLF keepalive pings on TCP/TLS connections, by result "
                                 "(success: the pong came back).",
                                 "counter"};

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// The configured transport; RFC 3263 makes a literal host or an explicit port udp, and
// leaves only a bare hostname to DNS ("auto").
std::string transport_label(const TargetConfig& t) {
  if (t.transport) return std::string(to_string(*t.transport));
  if (t.parsed_uri.host_kind != HostKind::name || t.parsed_uri.port != 0) return "udp";
  return "auto";
}

// The target's label set, rendered: `target` and the static labels, in key order.
std::string target_labels(const TargetConfig& t) {
  std::string labels;
  for (const auto& [k, v] : t.labels) labels = with_label(labels, k, v);
  return with_label(labels, "target", t.name);
}

// Writes a family's HELP and TYPE before its first series, and nothing for an empty family.
class FamilyWriter {
 public:
  FamilyWriter(std::string& out, const FamilyInfo& f) : out_(out), f_(f) {}
  // Starts a line: `name{labels[,key="value"]} `.
  std::string& series(std::string_view labels, std::string_view key = {},
                      std::string_view value = {}) {
    return series_named(f_.name, labels, key, value);
  }
  std::string& series_named(std::string_view name, std::string_view labels,
                            std::string_view key = {}, std::string_view value = {},
                            bool last = false) {
    start();
    put_series(out_, name, labels, key, value, last);
    return out_;
  }
  // A line whose extra label is a number or one of our constants, at offset `at` of `labels`
  // (label_insertion_point, computed once per label set).
  std::string& series_at(std::string_view name, std::string_view labels, std::size_t at,
                         std::string_view key, std::string_view value) {
    start();
    put_series_at(out_, name, labels, at, key, value);
    return out_;
  }

 private:
  void start() {
    if (!started_) put_header(out_, f_.name, f_.help, f_.type);
    started_ = true;
  }

  std::string& out_;
  const FamilyInfo& f_;
  bool started_ = false;
};

void end_line(std::string& out, double v) {
  put_double(out, v);
  out += '\n';
}

void end_line(std::string& out, std::uint64_t v) {
  put_uint(out, v);
  out += '\n';
}

}  // namespace

Metrics::Metrics(const Config& config)
    : registry_(std::make_shared<prometheus::Registry>()),
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
      reload_ok_(BuildGauge()
                     .Name("sip_exporter_config_last_reload_successful")
                     .Help("1 if the last configuration load or reload succeeded.")
                     .Register(*registry_)),
      reload_time_(BuildGauge()
                       .Name("sip_exporter_config_last_reload_success_timestamp_seconds")
                       .Help("Unix time of the last successful configuration load or reload.")
                       .Register(*registry_)),
      buckets_(std::make_shared<const std::vector<double>>(config.exporter.rtt_buckets)) {
  BuildGauge()
      .Name("sip_exporter_build_info")
      .Help("Version and git revision of the running exporter.")
      .Register(*registry_)
      .Add({{"version", kVersion}, {"revision", kRevision}})
      .Set(1);
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

void Metrics::set_rtt_buckets(const std::vector<double>& buckets) {
  buckets_ = std::make_shared<const std::vector<double>>(buckets);
}

void Metrics::add_target(std::size_t slot, const TargetConfig& t) {
  auto s = std::make_unique<TargetSeries>();
  s->labels = target_labels(t);
  s->uri = t.uri;
  s->transport = transport_label(t);
  s->bounds = buckets_;
  s->rtt_buckets = std::make_unique<Cell<std::uint64_t>[]>(buckets_->size() + 1);
  std::lock_guard lock(mu_);
  if (targets_.size() <= slot) targets_.resize(slot + 1);
  targets_[slot] = std::move(s);
}

void Metrics::remove_target(std::size_t slot, bool probe_in_flight) {
  if (probe_in_flight) in_flight_->Decrement();
  std::unique_ptr<TargetSeries> gone;
  std::lock_guard lock(mu_);
  gone = std::move(targets_.at(slot));
}

void Metrics::config_reloaded(bool success, double wall_seconds) {
  reload_ok_.Add({}).Set(success ? 1 : 0);
  if (success) reload_time_.Add({}).Set(wall_seconds);
}

void Metrics::probe_started() { in_flight_->Increment(); }

void Metrics::schedule_lateness(std::chrono::nanoseconds late) {
  lateness_->Observe(seconds(std::max(late, std::chrono::nanoseconds::zero())));
}

void Metrics::probe_finished(std::size_t target, const ProbeResult& r, const StateChange& change,
                             const TargetState& state, double wall_seconds) {
  in_flight_->Decrement();
  TargetSeries& s = *targets_.at(target);
  (r.success ? s.success : s.failure).add(1);
  if (r.status_code != 0) {
    auto code = std::find_if(s.responses.begin(), s.responses.end(),
                             [&](const auto& c) { return c.first == r.status_code; });
    if (code != s.responses.end()) {
      code->second.add(1);
    } else {
      std::lock_guard lock(mu_);  // the scrape may be reading the vector
      s.responses.emplace_back(r.status_code, Cell<std::uint64_t>{});
      s.responses.back().second.set(1);
    }
    const double rtt = seconds(r.rtt);
    const auto& bounds = *s.bounds;
    const auto bucket = std::lower_bound(bounds.begin(), bounds.end(), rtt) - bounds.begin();
    s.rtt_buckets[static_cast<std::size_t>(bucket)].add(1);
    s.rtt_sum.add(rtt);
    s.last_rtt.set(rtt);
    sanitize_label_value(r.server, server_scratch_);  // reused buffer: no allocation per probe
    if (s.server != server_scratch_) {
      std::lock_guard lock(mu_);
      s.server = server_scratch_;
    }
  } else {
    for (std::size_t i = 0; i < std::size(kAllFailureReasons); ++i) {
      if (kAllFailureReasons[i] == r.reason) s.failures[i].add(1);
    }
  }
  s.last_code.set(r.status_code);
  s.consecutive_failures.set(state.consecutive_failures);
  if (change.is_transition()) s.state_changes.add(1);
  if (change.changed()) s.last_change.set(wall_seconds);
  s.up.set(state.health == Health::up ? 1 : 0);
}

void Metrics::unmatched_response() { unmatched_total_->Increment(); }

void Metrics::add_address(std::size_t target, std::size_t address, const Destination& d) {
  auto a = std::make_unique<AddressSeries>();
  a->labels = with_label(targets_.at(target)->labels, "address", to_string(d));
  a->transport_labels = with_label(a->labels, "transport", to_string(d.transport));
  std::lock_guard lock(mu_);
  if (addresses_.size() <= address) addresses_.resize(address + 1);
  addresses_[address] = std::move(a);
}

void Metrics::remove_address(std::size_t address) {
  std::unique_ptr<AddressSeries> gone;
  std::lock_guard lock(mu_);
  if (address < addresses_.size()) gone = std::move(addresses_[address]);
}

void Metrics::address_finished(std::size_t address, const ProbeResult& r,
                               const TargetState& state) {
  AddressSeries& a = *addresses_.at(address);
  if (r.status_code != 0) a.last_rtt.set(seconds(r.rtt));
  a.up.set(state.health == Health::up ? 1 : 0);
}

void Metrics::tls_peer(std::size_t address, const TlsPeerInfo& info) {
  AddressSeries& a = *addresses_.at(address);
  if (info.cert_expiry) {
    a.cert_expiry.set(*info.cert_expiry);
    a.has_cert_expiry.store(true, std::memory_order_release);
  }
  if (info.version.empty()) return;  // the handshake failed: no version or cipher to show
  std::string version = sanitize_label_value(info.version);
  std::string cipher = sanitize_label_value(info.cipher);
  if (version == a.tls_version && cipher == a.tls_cipher) return;
  std::string labels = with_label(with_label(a.labels, "cipher", cipher), "version", version);
  std::lock_guard lock(mu_);
  a.tls_version = std::move(version);
  a.tls_cipher = std::move(cipher);
  a.tls_labels = std::move(labels);
}

void Metrics::keepalive_finished(std::size_t address, bool ok) {
  AddressSeries& a = *addresses_.at(address);
  (ok ? a.keepalive_ok : a.keepalive_failed).add(1);
  a.has_keepalives.store(true, std::memory_order_release);
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

template <class T, class F>
void Metrics::each(const std::vector<std::unique_ptr<T>>& all, F f) const {
  for (std::size_t i = 0;;) {
    std::lock_guard lock(mu_);
    const std::size_t end = std::min(all.size(), i + kScrapeBlock);
    if (i >= end) return;
    for (; i < end; ++i) {
      if (all[i]) f(*all[i]);
    }
  }
}

void Metrics::write_targets(std::string& out) const {
  using S = TargetSeries;
  {
    FamilyWriter w(out, kUp);
    each(targets_, [&](const S& s) { end_line(w.series(s.labels), s.up.get()); });
  }
  {
    FamilyWriter w(out, kProbes);
    each(targets_, [&](const S& s) {
      const std::size_t at = label_insertion_point(s.labels, "result");
      end_line(w.series_at(kProbes.name, s.labels, at, "result", "success"), s.success.get());
      end_line(w.series_at(kProbes.name, s.labels, at, "result", "failure"), s.failure.get());
    });
  }
  {
    FamilyWriter w(out, kResponses);
    char code[16];
    each(targets_, [&](const S& s) {
      const std::size_t at = label_insertion_point(s.labels, "code");
      for (const auto& [c, n] : s.responses) {
        const auto r = std::to_chars(code, code + sizeof code, c);
        end_line(w.series_at(kResponses.name, s.labels, at, "code",
                             std::string_view(code, r.ptr - code)),
                 n.get());
      }
    });
  }
  {
    FamilyWriter w(out, kFailures);
    each(targets_, [&](const S& s) {
      const std::size_t at = label_insertion_point(s.labels, "reason");
      for (std::size_t i = 0; i < std::size(kAllFailureReasons); ++i) {
        end_line(
            w.series_at(kFailures.name, s.labels, at, "reason", to_string(kAllFailureReasons[i])),
            s.failures[i].get());
      }
    });
  }
  {
    FamilyWriter w(out, kRtt);
    const std::string count = std::string(kRtt.name) + "_count";
    const std::string sum = std::string(kRtt.name) + "_sum";
    const std::string bucket = std::string(kRtt.name) + "_bucket";
    // The `le` texts, formatted once per bucket layout rather than once per series.
    std::vector<std::string> les;
    const std::vector<double>* les_of = nullptr;
    each(targets_, [&](const S& s) {
      const std::size_t n = s.bounds->size();
      if (s.bounds.get() != les_of) {
        les_of = s.bounds.get();
        les.assign(n + 1, std::string());
        for (std::size_t i = 0; i <= n; ++i) {
          put_double(les[i], i < n ? (*s.bounds)[i] : std::numeric_limits<double>::infinity());
        }
      }
      std::uint64_t total = 0;
      for (std::size_t i = 0; i <= n; ++i) total += s.rtt_buckets[i].get();
      end_line(w.series_named(count, s.labels), total);
      end_line(w.series_named(sum, s.labels), s.rtt_sum.get());
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i <= n; ++i) {
        // Never above _count, though the probing thread may add to a bucket meanwhile.
        cumulative = std::min(total, cumulative + s.rtt_buckets[i].get());
        end_line(w.series_at(bucket, s.labels, s.labels.size(), "le", les[i]),
                 i < n ? cumulative : total);
      }
    });
  }
  {
    FamilyWriter w(out, kLastRtt);
    each(targets_, [&](const S& s) {
      if (const double rtt = s.last_rtt.get(); rtt >= 0) end_line(w.series(s.labels), rtt);
    });
  }
  const std::pair<const FamilyInfo*, Cell<double> S::*> gauges[] = {
      {&kLastCode, &S::last_code}, {&kConsecutive, &S::consecutive_failures}};
  for (const auto& gauge : gauges) {
    const auto field = gauge.second;
    FamilyWriter w(out, *gauge.first);
    each(targets_, [&](const S& s) { end_line(w.series(s.labels), (s.*field).get()); });
  }
  {
    FamilyWriter w(out, kStateChanges);
    each(targets_, [&](const S& s) { end_line(w.series(s.labels), s.state_changes.get()); });
  }
  {
    FamilyWriter w(out, kLastChange);
    each(targets_, [&](const S& s) { end_line(w.series(s.labels), s.last_change.get()); });
  }
  {
    FamilyWriter w(out, kInfo);
    std::string labels;
    each(targets_, [&](const S& s) {
      labels = with_label(with_label(s.labels, "server", s.server), "transport", s.transport);
      end_line(w.series(labels, "uri", s.uri), 1.0);
    });
  }
}

void Metrics::write_addresses(std::string& out) const {
  using A = AddressSeries;
  {
    FamilyWriter w(out, kAddressUp);
    each(addresses_, [&](const A& a) { end_line(w.series(a.transport_labels), a.up.get()); });
  }
  {
    FamilyWriter w(out, kAddressRtt);
    each(addresses_, [&](const A& a) {
      if (const double rtt = a.last_rtt.get(); rtt >= 0)
        end_line(w.series(a.transport_labels), rtt);
    });
  }
  {
    FamilyWriter w(out, kCertExpiry);
    each(addresses_, [&](const A& a) {
      if (a.has_cert_expiry.load(std::memory_order_acquire)) {
        end_line(w.series(a.labels), a.cert_expiry.get());
      }
    });
  }
  {
    FamilyWriter w(out, kTlsInfo);
    each(addresses_, [&](const A& a) {
      if (!a.tls_labels.empty()) end_line(w.series(a.tls_labels), 1.0);
    });
  }
  {
    FamilyWriter w(out, kKeepalives);
    each(addresses_, [&](const A& a) {
      if (!a.has_keepalives.load(std::memory_order_acquire)) return;
      end_line(w.series(a.labels, "result", "success"), a.keepalive_ok.get());
      end_line(w.series(a.labels, "result", "failure"), a.keepalive_failed.get());
    });
  }
}

std::string Metrics::serialize() const {
  std::string out;
  out.reserve(last_size_.load(std::memory_order_relaxed) + 4096);
  write_targets(out);
  write_exposition(registry_->Collect(), out);
  write_addresses(out);
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
