#pragma once
// The metrics contract (README "Metrics"), held as references so that a probe result
// costs a few atomic updates and no Family::Add on the hot path.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "probes/locator.h"
#include "probes/probe_result.h"
#include "probes/target_state.h"
#include "probes/tls_context.h"

namespace stx {

class Metrics {
 public:
  // Exporter-wide series; per-target series come and go with add_target/remove_target.
  explicit Metrics(const Config& config);

  void add_target(std::size_t slot, const TargetConfig& target);
  // Removes every series of the target. `probe_in_flight`: one of its probes was abandoned.
  void remove_target(std::size_t slot, bool probe_in_flight);
  // RTT buckets for targets added from now on.
  void set_rtt_buckets(const std::vector<double>& buckets) { buckets_ = buckets; }
  void config_reloaded(bool success, double wall_seconds);

  void probe_started();
  void schedule_lateness(std::chrono::nanoseconds late);
  // `wall_seconds` is the Unix time of the result (for the last-change timestamp).
  void probe_finished(std::size_t target, const ProbeResult& r, const StateChange& change,
                      const TargetState& state, double wall_seconds);
  void unmatched_response();
  void invalid_message(std::string_view why);

  // Per-address series (RFC 3263 answers, or the URI's literal), named by address slot.
  void add_address(std::size_t target, std::size_t address, const Destination& d);
  void remove_address(std::size_t address);
  void address_finished(std::size_t address, const ProbeResult& r, const TargetState& state);
  void tls_peer(std::size_t address, const TlsPeerInfo& info);
  void keepalive_finished(std::size_t address, bool ok);

  // Text exposition format of every series; safe to call from another thread.
  std::string serialize() const;

  // Bounded, printable form of a peer-supplied header for use as a label value.
  static std::string sanitize_label_value(std::string_view v);
  static void sanitize_label_value(std::string_view v, std::string& out);

 private:
  struct TargetSeries {
    prometheus::Labels base;  // target + static labels
    std::string uri;
    prometheus::Gauge* up = nullptr;
    prometheus::Counter* success = nullptr;
    prometheus::Counter* failure = nullptr;
    std::vector<std::pair<FailureReason, prometheus::Counter*>> failures;
    std::vector<std::pair<int, prometheus::Counter*>> responses;  // by code, added when seen
    prometheus::Histogram* rtt = nullptr;
    prometheus::Gauge* last_rtt = nullptr;
    prometheus::Gauge* last_code = nullptr;
    prometheus::Gauge* consecutive_failures = nullptr;
    prometheus::Counter* state_changes = nullptr;
    prometheus::Gauge* last_change = nullptr;
    std::string server;     // the `server` label value of sip_target_info
    std::string transport;  // the `transport` label value of `info`
  };

  struct AddressSeries {
    prometheus::Labels base;  // target series labels + address
    std::string transport;
    prometheus::Gauge* up = nullptr;
    prometheus::Gauge* last_rtt = nullptr;
    prometheus::Gauge* cert_expiry = nullptr;  // once a TLS handshake told
    prometheus::Gauge* tls_info = nullptr;
    std::string tls_version, tls_cipher;
    prometheus::Counter* keepalive_ok = nullptr;  // once keepalives run
    prometheus::Counter* keepalive_failed = nullptr;
  };

  prometheus::Counter& response_counter(TargetSeries& s, int code);
  void set_info(TargetSeries& s, std::string_view server);
  prometheus::MetricFamily collect_info() const;

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& up_;
  prometheus::Family<prometheus::Counter>& probes_;
  prometheus::Family<prometheus::Counter>& responses_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Histogram>& rtt_;
  prometheus::Family<prometheus::Gauge>& last_rtt_;
  prometheus::Family<prometheus::Gauge>& last_code_;
  prometheus::Family<prometheus::Gauge>& consecutive_failures_;
  prometheus::Family<prometheus::Counter>& state_changes_;
  prometheus::Family<prometheus::Gauge>& last_change_;
  prometheus::Family<prometheus::Gauge>& build_info_;
  prometheus::Family<prometheus::Counter>& unmatched_;
  prometheus::Family<prometheus::Counter>& invalid_;
  prometheus::Family<prometheus::Gauge>& in_flight_family_;
  prometheus::Counter* unmatched_total_ = nullptr;
  prometheus::Gauge* in_flight_ = nullptr;
  prometheus::Histogram* lateness_ = nullptr;
  mutable std::atomic<std::size_t> last_size_{0};  // reserve for the next scrape
  std::vector<std::pair<std::string, prometheus::Counter*>> invalid_by_reason_;
  std::string server_scratch_;
  prometheus::Histogram::BucketBoundaries buckets_;
  // By slot; null when free. Written on the probing thread under info_mu_, which the scrape
  // thread holds to read it (for sip_target_info).
  std::vector<std::unique_ptr<TargetSeries>> targets_;
  mutable std::mutex info_mu_;
  prometheus::Family<prometheus::Gauge>& reload_ok_;
  prometheus::Family<prometheus::Gauge>& reload_time_;
  prometheus::Family<prometheus::Gauge>& address_up_;
  prometheus::Family<prometheus::Gauge>& address_rtt_;
  prometheus::Family<prometheus::Gauge>& cert_expiry_;
  prometheus::Family<prometheus::Gauge>& tls_info_;
  prometheus::Family<prometheus::Counter>& keepalives_;
  std::vector<std::unique_ptr<AddressSeries>> addresses_;  // by address slot; null when free
};

}  // namespace stx
