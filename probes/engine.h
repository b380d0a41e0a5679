#pragma once
// The probing engine: one event loop, one timer heap, one shared UDP transport.
// It schedules each target's probes, runs the OPTIONS transactions and reports every
// finished probe to a ProbeSink. It owns no metrics and does no logging.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "probes/ids.h"
#include "probes/probe_result.h"
#include "probes/target_state.h"
#include "probes/timer_queue.h"
#include "probes/transaction.h"
#include "probes/udp_transport.h"

namespace stx {

class Engine {
 public:
  // Receives the result of a probe_once() request, on the engine's thread.
  using OneShotDone = std::function<void(const ProbeResult&)>;

  Engine(boost::asio::io_context& io, ProbeSink& sink, std::uint64_t seed);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts probing `targets`. First probes are spread at random over each target's interval
  // unless `spread` is false.
  void start(const std::vector<TargetConfig>& targets, bool spread = true);

  // Replaces the target set. A target whose name and settings are unchanged keeps its slot,
  // state, schedule and in-flight probe, so no probe is lost or doubled; removed targets are
  // dropped (an in-flight probe abandoned); new or changed ones start unknown, spread.
  void reload(const std::vector<TargetConfig>& targets);

  // One probe of `target` now, outside any schedule and invisible to the sink; `done` runs
  // once with its result (request and response text included).
  void probe_once(const TargetConfig& target, OneShotDone done);

  // Abandons in-flight probes and closes sockets.
  void stop();

  std::size_t in_flight() const { return in_flight_; }

 private:
  struct Target;
  struct AddressKey {
    std::array<unsigned char, 16> addr{};
    std::uint16_t port = 0;
    bool operator==(const AddressKey&) const = default;
  };
  struct AddressKeyHash {
    std::size_t operator()(const AddressKey& k) const;
  };
  static AddressKey key_of(const UdpEndpoint& e);

  std::uint32_t add_target(const TargetConfig& cfg, TimePoint first_start, OneShotDone done);
  void remove_target(std::uint32_t slot);
  TimePoint spread_start(const TargetConfig& cfg, TimePoint now);
  void arm_timer();
  void on_timer();
  void start_probe(std::uint32_t slot, TimePoint now);
  void resolve(std::uint32_t slot);
  // Records `remote` and looks up our source address for it (Via, Contact).
  std::error_code set_remote(Target& t, std::uint32_t slot, const UdpEndpoint& remote,
                             TimePoint now);
  void forget_address(const Target& t, std::uint32_t slot);
  void send_request(std::uint32_t slot, TimePoint now);
  void retransmit(std::uint32_t slot, TimePoint due);
  void finish(std::uint32_t slot, ProbeResult& result, TimePoint now);
  void fail(std::uint32_t slot, FailureReason reason, std::string_view detail, TimePoint now);

  void on_datagram(const UdpEndpoint& from, std::string_view data, bool truncated,
                   TimePoint received);
  void on_transport_error(const UdpEndpoint& dest, std::string_view original, int error);

  boost::asio::io_context& io_;
  ProbeSink& sink_;
  IdGenerator ids_;
  std::mt19937_64 jitter_;
  UdpTransport transport_;
  boost::asio::ip::udp::resolver resolver_;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  TimePoint armed_for_{};
  TimerQueue queue_;
  std::vector<std::unique_ptr<Target>> targets_;  // by slot; null when free
  std::vector<std::uint32_t> free_slots_;
  std::uint32_t next_generation_ = 1;
  // Remote address -> slots probing it; used only when an ICMP error quotes no branch.
  std::unordered_multimap<AddressKey, std::uint32_t, AddressKeyHash> by_address_;
  std::size_t in_flight_ = 0;
  bool stopped_ = false;
};

}  // namespace stx
