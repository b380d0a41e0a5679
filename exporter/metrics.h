#pragma once
// The metrics contract (README "Metrics"): a probe result costs a few relaxed stores and no
// allocation; a scrape writes the text straight from the stored values.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/sharding.h"
#include "exporter/exposition.h"
#include "exporter/native_histogram.h"
#include "probes/interned.h"
#include "probes/locator.h"
#include "probes/probe_result.h"
#include "probes/slots.h"
#include "probes/target_state.h"
#include "probes/tls_context.h"

namespace stx {

// A last RTT before any answer: the series is left out.
inline constexpr double kNoRtt = -1;
// A streamed scrape hands out pieces of about this many bytes (a block of series more at most).
inline constexpr std::size_t kScrapeChunkBytes = 64 * 1024;
// Post-dial delay buckets, in seconds: the range a carrier's ring-back takes.
inline constexpr double kPostDialDelayBuckets[] = {0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 10, 15, 20, 30};

// A value with one writer (the probing thread) and readers on the scrape thread: relaxed
// atomic loads and stores, no read-modify-write, since only its one writer changes it.
template <class T>
class Cell {
 public:
  Cell() = default;
  Cell(const Cell& o) : v_(o.get()) {}
  Cell& operator=(const Cell& o) {
    set(o.get());
    return *this;
  }
  explicit Cell(T v) : v_(v) {}
  T get() const { return v_.load(std::memory_order_relaxed); }
  void set(T v) { v_.store(v, std::memory_order_relaxed); }
  void add(T d) { set(get() + d); }

 private:
  std::atomic<T> v_{};
};

// A count a target (or address) adds to at most once a probe, and probes are at least a
// second apart (kMinInterval): 32 bits wrap after 136 years, and halve a fleet's counters.
class Count {
 public:
  std::uint64_t get() const { return v_.get(); }
  void set(std::uint32_t v) { v_.set(v); }
  void add(std::uint32_t d) { v_.add(d); }

 private:
  Cell<std::uint32_t> v_;
};

class Metrics {
 public:
  // Exporter-wide series; per-target series come and go with add_target/remove_target.
  // `shard` is fixed for the process (flags), so its info series is set once here.
  explicit Metrics(const Config& config, const Shard& shard = {});

  void add_target(std::size_t slot, std::shared_ptr<const TargetConfig> target);
  void add_target(std::size_t slot, const TargetConfig& target) {
    add_target(slot, std::make_shared<const TargetConfig>(target));
  }
  // A reload kept the target: its equal configuration from the new list replaces the old.
  void keep_target(std::size_t slot, std::shared_ptr<const TargetConfig> target);
  // Removes every series of the target. `probe_in_flight`: one of its probes was abandoned.
  void remove_target(std::size_t slot, bool probe_in_flight);
  // The RTT buckets of every target's histogram. Only while there is no target: buckets
  // cannot change in place, so every series starts over (throws std::logic_error if not).
  void set_rtt_buckets(const std::vector<double>& buckets);
  // [exporter] zero_series, from the next scrape on: false leaves out a target's failure
  // reason series until that reason's first count. Counts are kept either way.
  void set_zero_series(bool zero_series) {
    zero_series_.store(zero_series, std::memory_order_relaxed);
  }
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
  // Retry-After: no probe to `address` before `until` (Unix time); 0: not paused.
  void address_paused(std::size_t address, double until);
  void tls_peer(std::size_t address, const TlsPeerInfo& info);
  void keepalive_finished(std::size_t address, bool ok);

  // Text exposition format of every series; safe to call from another thread.
  std::string serialize() const;
  // The same text a piece at a time, each piece at least `chunk` bytes but the last: series
  // are read as serialize() reads them, a block under mu_ at a time, as each piece is asked
  // for. The Metrics must outlive it; one thread at a time may use it.
  std::unique_ptr<BodySource> scrape(std::size_t chunk = kScrapeChunkBytes) const;
  // The same series (and sip_probe_rtt_seconds' native histogram beside its classic buckets)
  // as the protobuf exposition (exposition_protobuf.h), pieces cut as scrape() cuts them.
  std::unique_ptr<BodySource> scrape_protobuf(std::size_t chunk = kScrapeChunkBytes) const;

  // Bounded, printable form of a peer-supplied header for use as a label value.
  static std::string sanitize_label_value(std::string_view v);
  static void sanitize_label_value(std::string_view v, std::string& out);
  // Whether sanitize_label_value would return `v` unchanged.
  static bool is_clean_label_value(std::string_view v);

 private:
  // Per-target and per-address series are plain values with their label set rendered once:
  // prometheus-cpp keeps a label map, a hash node and a metric object per series (6.6 KB for
  // a target's 35 series) and its Collect() allocates per series at every scrape.
  struct TargetSeries {
    std::string labels;  // rendered: target and the static labels
    // The `uri` label of sip_target_info comes from here, at a scrape.
    std::shared_ptr<const TargetConfig> config;
    // The `server` label of sip_target_info: one copy per distinct value (a fleet answers
    // with a handful), changed under mu_; null before the first answer.
    std::shared_ptr<const std::string> server;
    std::unique_ptr<Count[]> rtt_buckets;  // buckets_->size() + 1 (+Inf)
    Cell<double> rtt_sum;
    NativeHistogram rtt_native;  // the same RTTs, served in the protobuf exposition only
    Cell<double> last_change;
    Cell<double> last_rtt{kNoRtt};  // no series until a first answer (a 0 would read "0 s")
    // Whole numbers, kept as such: sip_target_up is health == up.
    Cell<std::int32_t> last_code;
    Cell<std::int32_t> contacts{-1};  // as last_rtt: no series until a prober counts bindings
    Cell<std::uint32_t> consecutive_failures, retry_after;
    Cell<std::uint8_t> health;  // Health
    // The `transport` label of sip_target_info (nullopt: "auto"), from the configuration.
    std::optional<Transport> transport;
    // Method invite only: the post-dial delay histogram (other targets have no series).
    struct CallSeries {
      std::array<Count, std::size(kPostDialDelayBuckets) + 1> pdd_buckets;
      Cell<double> pdd_sum;
    };
    Count success, failure, state_changes;  // after the small fields: no padding between
    std::array<Count, std::size(kAllFailureReasons)> failures;
    std::unique_ptr<CallSeries> calls;
    std::vector<std::pair<int, Count>> responses;  // by code; grows under mu_
  };

  struct AddressSeries {
    std::string labels;             // the target's labels and address
    Cell<double> paused_until;      // Unix time; 0 when not paused
    Cell<double> last_rtt{kNoRtt};  // as the target's
    struct TlsSeries {
      std::string labels;  // the address's labels, version and cipher
      std::string version, cipher;
    };
    // Connection addresses only (TLS handshakes, keepalives), which most of a UDP fleet
    // never has: made under mu_ at the first, so a scrape reads the pointer under mu_.
    struct Stream {
      Cell<double> cert_expiry;  // valid once has_cert_expiry
      Count keepalive_ok, keepalive_failed;
      std::atomic<bool> has_cert_expiry{false};
      std::atomic<bool> has_keepalives{false};
      std::unique_ptr<TlsSeries> tls;  // after a handshake only, set under mu_
    };
    std::unique_ptr<Stream> stream;
    Transport transport = Transport::udp;  // a label of some families, added as they are written
    Cell<std::uint8_t> health;             // Health; sip_address_up is health == up
  };
  AddressSeries::Stream& stream_of(AddressSeries& a);
  // The `server` label of sip_target_info from an answer's Server (or User-Agent) header.
  void note_server(TargetSeries& s, std::string_view server);

  // A scrape in progress: what is written next, family by family (metrics.cc), by a
  // FamilyWriter (text) or a ProtoFamilyWriter (protobuf).
  template <class Writer>
  class Scrape;

  // Calls f(series) for the next block of live ones from `i` on, holding mu_ meanwhile so
  // that the probing thread never waits for a whole scrape; true once past the last.
  template <class T, class F>
  bool block(const SlotTable<T>& all, std::size_t& i, F f) const;

  std::shared_ptr<prometheus::Registry> registry_;  // exporter-wide series
  prometheus::Family<prometheus::Counter>& unmatched_;
  prometheus::Family<prometheus::Counter>& invalid_;
  prometheus::Family<prometheus::Gauge>& in_flight_family_;
  prometheus::Family<prometheus::Gauge>& reload_ok_;
  prometheus::Family<prometheus::Gauge>& reload_time_;
  prometheus::Counter* unmatched_total_ = nullptr;
  prometheus::Gauge* in_flight_ = nullptr;
  prometheus::Histogram* lateness_ = nullptr;
  mutable std::atomic<std::size_t> last_size_{0};  // reserve for the next scrape
  std::vector<std::pair<std::string, prometheus::Counter*>> invalid_by_reason_;
  std::string server_scratch_;
  Interned<std::string> servers_;  // the probing thread's only
  std::shared_ptr<const std::vector<double>> buckets_;
  std::atomic<bool> zero_series_{true};
  // By slot; null when free. Slots are filled, emptied and grown under mu_, which the
  // scrape holds to read them.
  SlotTable<TargetSeries> targets_;
  SlotTable<AddressSeries> addresses_;
  mutable std::mutex mu_;
};

}  // namespace stx
