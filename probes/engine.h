#pragma once
// The probing engine: one event loop, one timer heap, shared UDP sockets and one stream
// connection per TCP/TLS address. Each target is located (RFC 3263) into addresses; every
// probe cycle sends OPTIONS to its addresses, each address keeps its own health, and the
// cycle's verdict feeds the target's. Results go to a ProbeSink; no metrics, no logging.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "probes/ids.h"
#include "probes/locator.h"
#include "probes/probe_result.h"
#include "probes/stream_connection.h"
#include "probes/timer_queue.h"
#include "probes/udp_transport.h"
#include "sip/sip_response.h"

namespace stx {

class Engine {
 public:
  // Receives the result of a probe_once() request, on the engine's thread.
  using OneShotDone = std::function<void(const ProbeResult&)>;

  // `seed` spreads first probes over the interval; identifiers never depend on it.
  Engine(boost::asio::io_context& io, ProbeSink& sink, std::uint64_t seed,
         const DnsSettings& dns = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The target set. Each target points into it rather than holding a copy of its settings
  // (about 1 KB each), so it lives as long as one of its targets does.
  using TargetList = std::shared_ptr<const std::vector<TargetConfig>>;

  // Starts probing `targets`. First probes are spread at random over each target's interval
  // unless `spread` is false.
  void start(const TargetList& targets, bool spread = true);
  void start(const std::vector<TargetConfig>& targets, bool spread = true);  // copies

  // Replaces the target set. A target whose name and settings are unchanged keeps its slot,
  // state, addresses, schedule and in-flight probe, so no probe is lost or doubled; removed
  // targets are dropped (an in-flight probe abandoned); new or changed ones start unknown.
  void reload(const TargetList& targets);
  void reload(const std::vector<TargetConfig>& targets);  // copies

  // New DNS settings: later lookups use them; pending ones are asked again.
  void set_dns(const DnsSettings& dns);

  // One probe of `target` now, outside any schedule and invisible to the sink; `done` runs
  // once with its result (request and response text included).
  void probe_once(const TargetConfig& target, OneShotDone done);

  // Abandons in-flight probes and closes sockets.
  void stop();

  std::size_t in_flight() const { return in_flight_; }

 private:
  struct Target;  // probes/engine_parts.h
  struct Path;
  struct AddressKey {
    std::array<unsigned char, 16> addr{};
    std::uint16_t port = 0;
    bool operator==(const AddressKey&) const = default;
  };
  struct AddressKeyHash {
    std::size_t operator()(const AddressKey& k) const;
  };
  static AddressKey key_of(const UdpEndpoint& e);

  // Targets and cycles (engine.cc).
  std::uint32_t add_target(std::shared_ptr<const TargetConfig> config,
                           OneShotDone done);  // not yet scheduled
  void schedule_first(const std::vector<std::uint32_t>& slots, bool spread);
  void remove_target(std::uint32_t slot);
  std::uint32_t new_generation();
  TimePoint spread_start(const TargetConfig& cfg, TimePoint now);
  void service();  // one wakeup: read the sockets, run due timers, plan the next wakeup
  void arm_timer();
  bool live(const TimerEntry& e) const;  // false: its target, path or exchange is gone
  void on_timer();
  void start_cycle(std::uint32_t slot, TimePoint now);
  void locate(std::uint32_t slot);
  void on_located(std::uint32_t slot, const LocateResult& r);
  void apply_location(std::uint32_t slot, const Location& location, TimePoint located_at);
  void probe_paths(std::uint32_t slot, TimePoint now);
  void cycle_timeout(std::uint32_t slot, TimePoint now);
  void finish_cycle(std::uint32_t slot, TimePoint now);
  void fail_cycle(std::uint32_t slot, FailureReason reason, std::string_view detail, TimePoint now);
  void report_cycle(std::uint32_t slot, ProbeResult& r, TimePoint now);

  // Addresses and their exchanges (engine_path.cc).
  std::uint32_t add_path(std::uint32_t target, const Destination& d);
  void remove_path(std::uint32_t path);
  void start_path_probe(std::uint32_t path, TimePoint now);
  void build_request(Path& p);
  void path_finish(std::uint32_t path, ProbeResult& result, TimePoint now);
  void path_fail(std::uint32_t path, FailureReason reason, std::string_view detail, TimePoint now);
  // Parses a received message; an unparsable one is counted and false returned.
  bool parse_or_count(std::string_view data, SipResponse& r, const Destination& from);
  void on_response(std::uint32_t path, const SipResponse& r, std::string_view data,
                   TimePoint received);
  bool answer_challenge(std::uint32_t path, const SipResponse& r, TimePoint now);

  // UDP (engine_udp.cc).
  std::error_code udp_route(Path& p, TimePoint now);
  void udp_send(std::uint32_t path, TimePoint now);
  void udp_retransmit(std::uint32_t path, TimePoint due);
  void forget_address(const Path& p, std::uint32_t path);
  void on_datagram(const UdpEndpoint& from, std::string_view data, bool truncated,
                   TimePoint received);
  void on_transport_error(const UdpEndpoint& dest, std::string_view original, int error);

  // TCP and TLS (engine_stream.cc).
  void stream_connect(std::uint32_t path);
  bool live_stream(std::uint32_t path, std::uint32_t gen, std::uint32_t conn_gen) const;
  void stream_send(std::uint32_t path);  // stamps first_sent itself, as udp_send does
  void on_stream_ready(std::uint32_t path, const TlsPeerInfo* tls);
  void on_stream_message(std::uint32_t path, std::string_view data, TimePoint received);
  void on_stream_failed(std::uint32_t path, StreamFailure failure, std::string_view detail,
                        const TlsPeerInfo* tls);
  void on_keepalive_timer(std::uint32_t path, TimePoint now);
  void send_ping(std::uint32_t path, TimePoint now);
  void on_pong(std::uint32_t path);
  void close_stream(Path& p);

  boost::asio::io_context& io_;
  ProbeSink& sink_;
  IdGenerator ids_;
  std::mt19937_64 jitter_;
  UdpTransport transport_;
  std::unique_ptr<Locator> locator_;
  DnsSettings dns_;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  TimePoint armed_for_{};
  TimePoint last_wake_{};
  TimerQueue queue_;
  std::vector<std::unique_ptr<Target>> targets_;  // by slot; null when free
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::unique_ptr<Path>> paths_;  // by path slot; null when free
  std::vector<std::uint32_t> free_paths_;
  std::uint32_t next_generation_ = 1;
  // Remote address -> UDP paths probing it; used only when an ICMP error quotes no branch.
  std::unordered_multimap<AddressKey, std::uint32_t, AddressKeyHash> by_address_;
  // TLS contexts by settings, shared by every target that uses the same ones.
  std::vector<std::pair<TlsSettings, std::shared_ptr<TlsClientContext>>> tls_contexts_;
  std::size_t in_flight_ = 0;
  bool stopped_ = false;
};

}  // namespace stx
