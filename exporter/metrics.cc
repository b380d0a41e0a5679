#include "exporter/metrics.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <deque>
#include <functional>
#include <limits>
#include <span>
#include <stdexcept>
#include <type_traits>

#include "exporter/exposition.h"
#include "exporter/exposition_protobuf.h"
#include "exporter/process_metrics.h"
#include "version.h"

namespace stx {
namespace {

using prometheus::Counter;
using prometheus::Gauge;
using prometheus::Histogram;

constexpr std::size_t kMaxServerLabel = 128;
// Series written per lock of mu_ during a scrape.
constexpr std::size_t kScrapeBlock = 64;

// How the table's types map to prometheus-cpp's metric classes and their builders.
template <class T>
struct Kind;
template <>
struct Kind<Counter> {
  static constexpr FamilyType type = FamilyType::counter;
  static auto builder() { return prometheus::BuildCounter(); }
};
template <>
struct Kind<Gauge> {
  static constexpr FamilyType type = FamilyType::gauge;
  static auto builder() { return prometheus::BuildGauge(); }
};
template <>
struct Kind<Histogram> {
  static constexpr FamilyType type = FamilyType::histogram;
  static auto builder() { return prometheus::BuildHistogram(); }
};

// An exporter-wide family in the registry, named and described by the table.
template <class T, FamilyId id>
prometheus::Family<T>& registered(prometheus::Registry& registry) {
  constexpr const FamilySpec& f = family(id);
  static_assert(f.type == Kind<T>::type, "the family table declares another type");
  static_assert(f.scope == FamilyScope::exporter);
  return Kind<T>::builder().Name(std::string(f.name)).Help(std::string(f.help)).Register(registry);
}

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// The configured transport; RFC 3263 makes a literal host or an explicit port udp, and
// leaves only a bare hostname to DNS (nullopt: "auto").
std::optional<Transport> label_transport(const TargetConfig& t) {
  if (t.shared->transport) return t.shared->transport;
  const SipUri uri = t.parsed_uri();
  if (uri.host_kind != HostKind::name || uri.port != 0) return Transport::udp;
  return std::nullopt;
}

// The target's label set, rendered: `target` and the static labels, in key order.
std::string target_labels(const TargetConfig& t) {
  std::string labels;
  for (const auto& [k, v] : t.labels) labels = with_label(labels, k, v);
  return with_label(labels, kTargetLabel, t.name);
}

// sip_target_up and sip_address_up: 1 while the health is up.
double is_up(const Cell<std::uint8_t>& health) {
  return health.get() == static_cast<std::uint8_t>(Health::up) ? 1.0 : 0.0;
}

// One series per state, 1 for the current one: sip_target_state and sip_address_state.
template <class W>
void write_states(W& w, std::string_view labels, std::uint8_t health) {
  const std::size_t at = label_insertion_point(labels, kStateLabel);
  for (const Health h : kAllHealth) {
    w.sample_at(labels, at, kStateLabel, to_string(h),
                static_cast<std::uint8_t>(h) == health ? 1.0 : 0.0);
  }
}

// A histogram family's sample names.
struct HistogramNames {
  explicit HistogramNames(std::string_view family)
      : count(std::string(family) + "_count"),
        sum(std::string(family) + "_sum"),
        bucket(std::string(family) + "_bucket") {}
  std::string count, sum, bucket;
};

// One series of a histogram: _count, _sum and the cumulative _bucket lines. `cells` holds
// each bucket's own count (+Inf last) and `les` their `le` texts.
// The text ignores `bounds` (it has their `le` texts) and any native histogram.
void write_histogram(FamilyWriter& w, const HistogramNames& names, const std::string& labels,
                     std::span<const Count> cells, double sum, std::span<const std::string> les,
                     std::span<const double> /*bounds*/,
                     const NativeHistogram* /*native*/ = nullptr) {
  std::uint64_t total = 0;
  for (const auto& c : cells) total += c.get();
  end_line(w.series_named(names.count, labels), total);
  end_line(w.series_named(names.sum, labels), sum);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    // Never above _count, though the probing thread may add to a bucket meanwhile.
    cumulative = std::min(total, cumulative + cells[i].get());
    end_line(w.series_at(names.bucket, labels, labels.size(), kLeLabel, les[i]),
             i + 1 < cells.size() ? cumulative : total);
  }
}

// The protobuf: one Histogram message with the classic buckets and, for `native`, the
// native ones.
void write_histogram(ProtoFamilyWriter& w, const HistogramNames& /*names*/,
                     const std::string& labels, std::span<const Count> cells, double sum,
                     std::span<const std::string> /*les*/, std::span<const double> bounds,
                     const NativeHistogram* native = nullptr) {
  thread_local std::vector<std::uint64_t> counts;
  counts.clear();
  for (const auto& c : cells) counts.push_back(c.get());
  w.histogram(labels, bounds, counts, sum, native);
}

}  // namespace

Metrics::Metrics(const Config& config, const Shard& shard)
    : registry_(std::make_shared<prometheus::Registry>()),
      unmatched_(registered<Counter, FamilyId::unmatched>(*registry_)),
      invalid_(registered<Counter, FamilyId::invalid>(*registry_)),
      in_flight_family_(registered<Gauge, FamilyId::in_flight>(*registry_)),
      reload_ok_(registered<Gauge, FamilyId::reload_ok>(*registry_)),
      reload_time_(registered<Gauge, FamilyId::reload_time>(*registry_)),
      buckets_(std::make_shared<const std::vector<double>>(config.exporter.rtt_buckets)),
      zero_series_(config.exporter.zero_series) {
  registered<Gauge, FamilyId::build_info>(*registry_)
      .Add({{std::string(kVersionLabel), kVersion}, {std::string(kRevisionLabel), kRevision}})
      .Set(1);
  registered<Gauge, FamilyId::shard_info>(*registry_)
      .Add({{std::string(kIndexLabel), std::to_string(shard.index)},
            {std::string(kCountLabel), std::to_string(shard.count)},
            {std::string(kReplicasLabel), std::to_string(shard.replicas)}})
      .Set(1);
  unmatched_total_ = &unmatched_.Add({});
  in_flight_ = &in_flight_family_.Add({});
  // Fine buckets at the bottom: a healthy loop starts probes well under a millisecond late.
  lateness_ =
      &registered<Histogram, FamilyId::lateness>(*registry_)
           .Add({}, Histogram::BucketBoundaries{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
}

void Metrics::set_rtt_buckets(const std::vector<double>& buckets) {
  auto next = std::make_shared<const std::vector<double>>(buckets);
  std::lock_guard lock(mu_);
  for (std::size_t slot = 0; slot < targets_.size(); ++slot) {
    // Their bucket arrays are sized for the old bounds.
    if (targets_[slot] != nullptr) throw std::logic_error("RTT buckets changed with targets");
  }
  buckets_ = std::move(next);
}

void Metrics::add_target(std::size_t slot, std::shared_ptr<const TargetConfig> t) {
  std::string labels = target_labels(*t);
  labels.shrink_to_fit();  // kept for the target's life: a short one goes back inline
  std::lock_guard lock(mu_);
  TargetSeries& s = targets_.emplace(slot);
  s.labels = std::move(labels);
  if (t->shared->method == ProbeMethod::invite)
    s.calls = std::make_unique<TargetSeries::CallSeries>();
  s.transport = label_transport(*t);
  s.config = std::move(t);
  s.rtt_buckets = std::make_unique<Count[]>(buckets_->size() + 1);
}

void Metrics::keep_target(std::size_t slot, std::shared_ptr<const TargetConfig> target) {
  std::shared_ptr<const TargetConfig> old;  // perhaps the last hold on the old list: freed unlocked
  std::lock_guard lock(mu_);
  old = std::exchange(targets_[slot]->config, std::move(target));
}

void Metrics::remove_target(std::size_t slot, bool probe_in_flight) {
  if (probe_in_flight) in_flight_->Decrement();
  std::lock_guard lock(mu_);
  if (targets_[slot] != nullptr) targets_.erase(slot);
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
  TargetSeries& s = *targets_[target];
  (r.success ? s.success : s.failure).add(1);
  if (r.status_code != 0) {
    auto code = std::find_if(s.responses.begin(), s.responses.end(),
                             [&](const auto& c) { return c.first == r.status_code; });
    if (code != s.responses.end()) {
      code->second.add(1);
    } else {
      std::lock_guard lock(mu_);  // the scrape may be reading the vector
      s.responses.emplace_back(r.status_code, Count{});
      s.responses.back().second.set(1);
    }
    const double rtt = seconds(r.rtt);
    const auto& bounds = *buckets_;
    const auto bucket = std::lower_bound(bounds.begin(), bounds.end(), rtt) - bounds.begin();
    s.rtt_native.observe(rtt, mu_);
    s.rtt_buckets[static_cast<std::size_t>(bucket)].add(1);
    s.rtt_sum.add(rtt);
    s.last_rtt.set(rtt);
    note_server(s, r.server);
  }
  // No final response, or (auth, no_binding) a final response the prober judged a failure.
  if (r.reason != FailureReason::none) {
    for (std::size_t i = 0; i < std::size(kAllFailureReasons); ++i) {
      if (kAllFailureReasons[i] == r.reason) s.failures[i].add(1);
    }
  }
  if (r.contacts) {
    constexpr std::uint32_t kMost = std::numeric_limits<std::int32_t>::max();
    s.contacts.set(static_cast<std::int32_t>(std::min(*r.contacts, kMost)));
  }
  if (r.post_dial_delay && s.calls != nullptr) {
    const double pdd = seconds(*r.post_dial_delay);
    const auto* end = std::end(kPostDialDelayBuckets);
    const auto bucket = std::lower_bound(std::begin(kPostDialDelayBuckets), end, pdd) -
                        std::begin(kPostDialDelayBuckets);
    s.calls->pdd_buckets[static_cast<std::size_t>(bucket)].add(1);
    s.calls->pdd_sum.add(pdd);
  }
  s.last_code.set(r.status_code);
  s.retry_after.set(r.status_code != 0 && r.retry_after ? *r.retry_after : 0);
  s.health.set(static_cast<std::uint8_t>(state.health));
  s.consecutive_failures.set(static_cast<std::uint32_t>(state.consecutive_failures));
  if (change.is_transition()) s.state_changes.add(1);
  if (change.changed()) s.last_change.set(wall_seconds);
}

// Most servers send the same clean header every time, and the kept value is clean: a header
// equal to it needs neither the check nor a copy.
void Metrics::note_server(TargetSeries& s, std::string_view server) {
  if (s.server != nullptr && *s.server == server) return;
  if (!is_clean_label_value(server)) {
    sanitize_label_value(server, server_scratch_);  // reused buffer: no allocation per probe
    server = server_scratch_;
    if (s.server != nullptr && *s.server == server) return;
  }
  auto interned =
      servers_.get(server, [server] { return std::make_shared<const std::string>(server); });
  std::lock_guard lock(mu_);
  s.server = std::move(interned);
}

void Metrics::unmatched_response() { unmatched_total_->Increment(); }

void Metrics::add_address(std::size_t target, std::size_t address, const Destination& d) {
  std::string labels = with_label(targets_[target]->labels, kAddressLabel, to_string(d));
  labels.shrink_to_fit();
  std::lock_guard lock(mu_);
  AddressSeries& a = addresses_.emplace(address);
  a.labels = std::move(labels);
  a.transport = d.transport;
}

void Metrics::remove_address(std::size_t address) {
  std::lock_guard lock(mu_);
  if (addresses_[address] != nullptr) addresses_.erase(address);
}

void Metrics::address_finished(std::size_t address, const ProbeResult& r,
                               const TargetState& state) {
  AddressSeries& a = *addresses_[address];
  if (r.status_code != 0) a.last_rtt.set(seconds(r.rtt));
  a.health.set(static_cast<std::uint8_t>(state.health));
}

void Metrics::address_paused(std::size_t address, double until) {
  addresses_[address]->paused_until.set(until);
}

Metrics::AddressSeries::Stream& Metrics::stream_of(AddressSeries& a) {
  if (a.stream == nullptr) {
    auto made = std::make_unique<AddressSeries::Stream>();
    std::lock_guard lock(mu_);
    a.stream = std::move(made);
  }
  return *a.stream;
}

void Metrics::tls_peer(std::size_t address, const TlsPeerInfo& info) {
  AddressSeries& a = *addresses_[address];
  AddressSeries::Stream& s = stream_of(a);
  if (info.cert_expiry) {
    s.cert_expiry.set(*info.cert_expiry);
    s.has_cert_expiry.store(true, std::memory_order_release);
  }
  if (info.version.empty()) return;  // the handshake failed: no version or cipher to show
  std::string version = sanitize_label_value(info.version);
  std::string cipher = sanitize_label_value(info.cipher);
  if (s.tls != nullptr && version == s.tls->version && cipher == s.tls->cipher) return;
  auto tls = std::make_unique<AddressSeries::TlsSeries>();
  tls->labels = with_label(with_label(a.labels, kCipherLabel, cipher), kVersionLabel, version);
  tls->version = std::move(version);
  tls->cipher = std::move(cipher);
  std::lock_guard lock(mu_);
  s.tls = std::move(tls);
}

void Metrics::keepalive_finished(std::size_t address, bool ok) {
  AddressSeries::Stream& s = stream_of(*addresses_[address]);
  (ok ? s.keepalive_ok : s.keepalive_failed).add(1);
  s.has_keepalives.store(true, std::memory_order_release);
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
  auto& counter = invalid_.Add({{std::string(kReasonLabel), std::string(why)}});
  invalid_by_reason_.emplace_back(std::string(why), &counter);
  counter.Increment();
}

template <class T, class F>
bool Metrics::block(const SlotTable<T>& all, std::size_t& i, F f) const {
  std::lock_guard lock(mu_);
  const std::size_t end = std::min(all.size(), i + kScrapeBlock);
  for (; i < end; ++i) {
    if (const T* s = all[i]) f(*s);
  }
  return i >= all.size();
}

// The families in the order a scrape writes them, each a step that writes a block of series
// (or all of an exporter-wide part) per call. Pieces are cut between blocks, so the text is
// the same however it is cut, and mu_ is never held while a piece waits to be sent.
template <class W>
class Metrics::Scrape final : public BodySource {
 public:
  Scrape(const Metrics& m, std::size_t chunk) : m_(m), chunk_(chunk) { plan(); }
  Scrape(const Scrape&) = delete;
  Scrape& operator=(const Scrape&) = delete;
  ~Scrape() override = default;

  std::string_view next() override {
    out_.clear();
    while (step_ < steps_.size() && out_.size() < chunk_) {
      if (steps_[step_]()) ++step_;
    }
    return out_;
  }
  void reserve(std::size_t n) { out_.reserve(n); }
  std::string take() { return std::move(out_); }

 private:
  using S = TargetSeries;
  using A = AddressSeries;

  // A family of per-target (or per-address) series: f(writer, series) writes one's lines.
  template <class T, class F>
  void over(const SlotTable<T>& all, FamilyId id, F f) {
    W& w = writers_.emplace_back(out_, id);
    steps_.emplace_back([this, &all, &w, f = std::move(f), i = std::size_t{0}]() mutable {
      const bool done = m_.block(all, i, [&](const T& s) { f(w, s); });
      w.flush();  // a protobuf message per block, written outside mu_
      return done;
    });
  }
  void plan();
  void plan_targets();
  void plan_addresses();

  const Metrics& m_;
  const std::size_t chunk_;
  std::string out_;
  std::deque<W> writers_;  // writing into out_; a deque keeps them in place
  std::vector<std::function<bool()>> steps_;
  std::size_t step_ = 0;
};

template <class W>
void Metrics::Scrape<W>::plan() {
  constexpr bool text = std::is_same_v<W, FamilyWriter>;
  plan_targets();
  steps_.emplace_back([this] {
    if constexpr (text) {
      write_exposition(m_.registry_->Collect(), out_);
    } else {
      write_protobuf(m_.registry_->Collect(), out_);
    }
    return true;
  });
  plan_addresses();
  steps_.emplace_back([this] {
    if constexpr (text) {
      write_process_metrics(read_process_stats(), out_);
    } else {
      write_process_metrics_protobuf(read_process_stats(), out_);
    }
    return true;
  });
}

template <class W>
void Metrics::Scrape<W>::plan_targets() {
  const auto& targets = m_.targets_;
  over(targets, FamilyId::target_up,
       [](auto& w, const S& s) { w.sample(s.labels, is_up(s.health)); });
  over(targets, FamilyId::target_state,
       [](auto& w, const S& s) { write_states(w, s.labels, s.health.get()); });
  over(targets, FamilyId::probes, [](auto& w, const S& s) {
    const std::size_t at = label_insertion_point(s.labels, kResultLabel);
    w.sample_at(s.labels, at, kResultLabel, "success", s.success.get());
    w.sample_at(s.labels, at, kResultLabel, "failure", s.failure.get());
  });
  over(targets, FamilyId::responses, [](auto& w, const S& s) {
    char code[16];
    const std::size_t at = label_insertion_point(s.labels, kCodeLabel);
    for (const auto& [c, n] : s.responses) {
      const auto r = std::to_chars(code, code + sizeof code, c);
      w.sample_at(s.labels, at, kCodeLabel, std::string_view(code, r.ptr - code), n.get());
    }
  });
  // zero_series = false: a reason's series appears at its first count (counters never go
  // back to 0 while the target lives).
  const bool zeros = m_.zero_series_.load(std::memory_order_relaxed);
  over(targets, FamilyId::failures, [zeros](auto& w, const S& s) {
    std::size_t at = std::string::npos;  // computed at the first series written
    for (std::size_t i = 0; i < std::size(kAllFailureReasons); ++i) {
      const std::uint64_t n = s.failures[i].get();
      if (n == 0 && !zeros) continue;
      if (at == std::string::npos) at = label_insertion_point(s.labels, kReasonLabel);
      w.sample_at(s.labels, at, kReasonLabel, to_string(kAllFailureReasons[i]), n);
    }
  });
  {
    // The `le` texts, formatted once per bucket layout rather than once per series. The
    // layout is held, not just its address: a scrape may outlast every target using it.
    struct Les {
      std::shared_ptr<const std::vector<double>> of;
      std::vector<std::string> texts;
    };
    // buckets_ is read under mu_, as the series are: it changes only while there are none.
    over(targets, FamilyId::rtt,
         [this, names = HistogramNames(family(FamilyId::rtt).name), les = Les{}](
             auto& w, const S& s) mutable {
           const std::shared_ptr<const std::vector<double>>& bounds = m_.buckets_;
           const std::size_t n = bounds->size();
           if (bounds != les.of) {
             les.of = bounds;
             les.texts.assign(n + 1, std::string());
             for (std::size_t i = 0; i <= n; ++i) {
               put_double(les.texts[i],
                          i < n ? (*bounds)[i] : std::numeric_limits<double>::infinity());
             }
           }
           write_histogram(w, names, s.labels, std::span<const Count>(s.rtt_buckets.get(), n + 1),
                           s.rtt_sum.get(), les.texts, *bounds, &s.rtt_native);
         });
  }
  over(targets, FamilyId::last_rtt, [](auto& w, const S& s) {
    if (const double rtt = s.last_rtt.get(); rtt >= 0) w.sample(s.labels, rtt);
  });
  over(targets, FamilyId::last_code,
       [](auto& w, const S& s) { w.sample(s.labels, static_cast<double>(s.last_code.get())); });
  const std::pair<FamilyId, Cell<std::uint32_t> S::*> gauges[] = {
      {FamilyId::retry_after, &S::retry_after},
      {FamilyId::consecutive_failures, &S::consecutive_failures}};
  for (const auto& [id, field] : gauges) {
    over(targets, id, [field = field](auto& w, const S& s) {
      w.sample(s.labels, static_cast<double>((s.*field).get()));
    });
  }
  over(targets, FamilyId::state_changes,
       [](auto& w, const S& s) { w.sample(s.labels, s.state_changes.get()); });
  over(targets, FamilyId::last_change,
       [](auto& w, const S& s) { w.sample(s.labels, s.last_change.get()); });
  over(targets, FamilyId::target_info, [labels = std::string()](auto& w, const S& s) mutable {
    const std::string_view server = s.server != nullptr ? std::string_view(*s.server) : "";
    labels = with_label(with_label(s.labels, kServerLabel, server), kTransportLabel,
                        s.transport ? to_string(*s.transport) : "auto");
    w.sample(labels, 1.0, kUriLabel, s.config->uri);
  });
  over(targets, FamilyId::registered_contacts, [](auto& w, const S& s) {
    if (const std::int32_t n = s.contacts.get(); n >= 0) {
      w.sample(s.labels, static_cast<double>(n));
    }
  });
  constexpr std::size_t n = std::size(kPostDialDelayBuckets);
  std::array<std::string, n + 1> les;
  for (std::size_t i = 0; i <= n; ++i) {
    put_double(les[i], i < n ? kPostDialDelayBuckets[i] : std::numeric_limits<double>::infinity());
  }
  over(targets, FamilyId::post_dial_delay,
       [names = HistogramNames(family(FamilyId::post_dial_delay).name), les = std::move(les)](
           auto& w, const S& s) {
         if (s.calls == nullptr) return;
         write_histogram(w, names, s.labels, s.calls->pdd_buckets, s.calls->pdd_sum.get(), les,
                         kPostDialDelayBuckets);
       });
}

// An address's labels with its transport, rendered into a buffer of the scraping thread as
// its series are written: kept per address, they would cost a string each, for what only a
// scrape reads (a large fleet has an address per target).
namespace {
template <class A>
std::string_view transport_labels(const A& a) {
  thread_local std::string rendered;
  rendered.clear();
  append_with_label(rendered, a.labels, kTransportLabel, to_string(a.transport));
  return rendered;
}
}  // namespace

template <class W>
void Metrics::Scrape<W>::plan_addresses() {
  const auto& addresses = m_.addresses_;
  over(addresses, FamilyId::address_up,
       [](auto& w, const A& a) { w.sample(transport_labels(a), is_up(a.health)); });
  over(addresses, FamilyId::address_state,
       [](auto& w, const A& a) { write_states(w, transport_labels(a), a.health.get()); });
  over(addresses, FamilyId::address_rtt, [](auto& w, const A& a) {
    if (const double rtt = a.last_rtt.get(); rtt >= 0) w.sample(transport_labels(a), rtt);
  });
  over(addresses, FamilyId::address_paused,
       [](auto& w, const A& a) { w.sample(transport_labels(a), a.paused_until.get()); });
  over(addresses, FamilyId::cert_expiry, [](auto& w, const A& a) {
    if (a.stream != nullptr && a.stream->has_cert_expiry.load(std::memory_order_acquire)) {
      w.sample(a.labels, a.stream->cert_expiry.get());
    }
  });
  over(addresses, FamilyId::tls_info, [](auto& w, const A& a) {
    if (a.stream != nullptr && a.stream->tls != nullptr) w.sample(a.stream->tls->labels, 1.0);
  });
  over(addresses, FamilyId::keepalives, [](auto& w, const A& a) {
    if (a.stream == nullptr || !a.stream->has_keepalives.load(std::memory_order_acquire)) return;
    w.sample(a.labels, a.stream->keepalive_ok.get(), kResultLabel, "success");
    w.sample(a.labels, a.stream->keepalive_failed.get(), kResultLabel, "failure");
  });
}

std::string Metrics::serialize() const {
  Scrape<FamilyWriter> scrape(*this, std::numeric_limits<std::size_t>::max());
  scrape.reserve(last_size_.load(std::memory_order_relaxed) + 4096);
  scrape.next();
  std::string out = scrape.take();
  last_size_.store(out.size(), std::memory_order_relaxed);
  return out;
}

std::unique_ptr<BodySource> Metrics::scrape(std::size_t chunk) const {
  return std::make_unique<Scrape<FamilyWriter>>(*this, chunk);
}

std::unique_ptr<BodySource> Metrics::scrape_protobuf(std::size_t chunk) const {
  return std::make_unique<Scrape<ProtoFamilyWriter>>(*this, chunk);
}

std::string Metrics::sanitize_label_value(std::string_view v) {
  std::string out;
  sanitize_label_value(v, out);
  return out;
}

bool Metrics::is_clean_label_value(std::string_view v) {
  if (v.size() > kMaxServerLabel || v.starts_with(' ') || v.ends_with(' ')) return false;
  char previous = 'x';
  for (const char c : v) {
    // Printable ASCII, and no run of spaces, which sanitize_label_value would fold.
    if (c < ' ' || c > '~' || (c == ' ' && previous == ' ')) return false;
    previous = c;
  }
  return true;
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
