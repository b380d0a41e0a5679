#pragma once
// The engine's per-target and per-address state, shared by engine*.cc only.
#include <boost/asio/ip/address.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probes/engine.h"
#include "probes/stream_connection.h"
#include "probes/target_state.h"
#include "probes/transaction.h"

namespace stx {

// Without TTLs for the route, our source address (Via, Contact) is looked up again this
// often, so a target unroutable at start, or a changed local address, is picked up.
inline constexpr std::chrono::seconds kRouteRefresh{60};

// The event loop wakes at most once per gap for timers (a probe starts at most this late);
// when the next wakeup is this close, datagrams wait for it instead of waking the loop.
inline constexpr std::chrono::microseconds kWakeGap{250};
inline constexpr std::chrono::milliseconds kBusyWindow{2};

// A free slot of `slots` (reused first, else appended): small integers that name targets
// and addresses in timer entries and Via branches.
template <typename T>
std::uint32_t take_slot(std::vector<std::unique_ptr<T>>& slots, std::vector<std::uint32_t>& free) {
  if (!free.empty()) {
    const std::uint32_t slot = free.back();
    free.pop_back();
    return slot;
  }
  slots.emplace_back();
  return static_cast<std::uint32_t>(slots.size() - 1);
}

// The local address a probe to a `v6` (or IPv4) peer is bound to: the configured
// source_address, or the family's any-address when only source_port is set; nullopt when
// neither is set (routing chooses).
std::optional<boost::asio::ip::address> source_address_of(const TargetConfig& cfg, bool v6);

// Our Via sent-by ("192.0.2.1:5060", "[2001:db8::1]:5060") and the Contact URI built on it:
// sips: when the Request-URI is (RFC 3261 8.1.1.8), with no ;transport then (RFC 5630).
std::string sent_by_of(const boost::asio::ip::address& a, std::uint16_t port);
std::string contact_of(std::string_view from_user, std::string_view sent_by,
                       std::optional<Transport> transport, bool sips);

// One configured target (or one /probe request) and its probe cycles.
struct Engine::Target {
  std::shared_ptr<const TargetConfig> cfg;  // an element of the engine's TargetList
  std::uint32_t generation = 0;
  bool background = true;  // false for probe_once() targets: never rescheduled, not reported
  OneShotDone done;        // probe_once() callback
  std::string from_user;
  std::string request_uri;  // the URI, with ruri_user when set

  // Where it is: the last good RFC 3263 answer and its lifetime.
  bool located = false;
  Location location;
  TimePoint located_at{};
  bool locating = false;
  std::optional<Location> pending;   // a refresh that came in during a cycle
  std::vector<std::uint32_t> paths;  // address slots, in location order

  // The current cycle: one OPTIONS per probed address, one deadline for all.
  bool cycle_open = false;
  bool awaiting_dns = false;
  std::uint32_t cycle_seq = 0;
  TimePoint cycle_started{};
  TimePoint deadline{};
  int outstanding = 0;

  TargetState state;
  TimePoint next_start{};
};

// One address of a target: its transport, its exchanges and its own health.
struct Engine::Path {
  std::uint32_t target = 0;
  std::uint32_t generation = 0;
  Destination dest;
  Transaction tx;
  TargetState state;
  bool in_cycle = false;                // probed in the current cycle
  bool done = false;                    // finished in the current cycle
  bool auth_sent = false;               // a challenge was answered in this exchange
  std::string authorization;            // header value while auth_sent
  std::string_view authorization_name;  // "Authorization" or "Proxy-Authorization"

  // What our side looks like to the peer (Via sent-by, Contact).
  std::string sent_by;
  std::string contact;
  std::string request;  // rebuilt per exchange into the same capacity

  // UDP
  UdpEndpoint remote;
  std::optional<UdpTransport::SocketId> socket;
  bool registered = false;  // remote is in by_address_
  TimePoint routed_at{};

  // TCP / TLS
  std::shared_ptr<StreamConnection> conn;
  bool conn_ready = false;
  std::uint32_t conn_gen = 0;  // tells callbacks of a closed connection from the current one
  bool ping_outstanding = false;
  bool ping_after_probe = false;  // a keepalive fell due while a probe was running
  std::uint32_t ping_seq = 0;
  std::chrono::seconds reconnect_backoff{0};
  TimePoint reconnect_at{};  // keepalive reconnects wait until then

  // The last finished exchange, owned here so the cycle can report it after others finish.
  ProbeResult result;
  std::string response_text;
  std::string server_text;
  std::string detail_text;
};

}  // namespace stx
