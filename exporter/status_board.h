#pragma once
// What the status pages show, kept per target as probes finish (engine thread) and copied
// out under a lock when a page is rendered (HTTP thread). Bounded: a fixed number of recent
// RTTs and exchanges per target, and their texts in one ring shared by every target.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "exporter/status_page.h"
#include "exporter/text_ring.h"
#include "probes/locator.h"
#include "probes/probe_result.h"
#include "probes/tls_context.h"

namespace stx {

class StatusBoard {
 public:
  static constexpr std::size_t kRecentRtts = 40;
  static constexpr std::size_t kExchanges = 5;
  static constexpr std::size_t kMaxText = 2048;
  // Request and response texts of every target: the newest 16 MiB. That keeps all five
  // exchanges of about 2,500 targets, and the newest of most at 10,000 targets @ 1 s.
  static constexpr std::size_t kTextBytes = 16 << 20;

  explicit StatusBoard(std::size_t text_bytes = kTextBytes) : texts_(text_bytes) {}

  void add_target(std::size_t slot, const TargetConfig& target);
  void remove_target(std::size_t slot);
  void record(std::size_t slot, const ProbeResult& r, const TargetState& state,
              const StateChange& change, double unix_now);
  void add_address(std::size_t slot, std::size_t address, const Destination& d);
  void remove_address(std::size_t slot, std::size_t address);
  void record_address(std::size_t slot, std::size_t address, const ProbeResult& r,
                      const TargetState& state);
  void tls_peer(std::size_t slot, std::size_t address, const TlsPeerInfo& info);
  // Retry-After: no probe to the address before `until_unix` (0: not paused).
  void address_paused(std::size_t slot, std::size_t address, double until_unix);

  // Every target, sorted by name, each with only its newest exchange and no texts; or, with
  // `name`, only that target with all its exchanges (no `targets` when there is none).
  StatusSnapshot snapshot(double unix_now) const;
  StatusSnapshot snapshot_of(std::string_view name, double unix_now) const;

 private:
  struct Exchange {  // an ExchangeRecord without its texts
    double unix_time = 0;
    double rtt_seconds = -1;
    float duration_seconds = 0;
    std::int32_t code = 0;
    std::uint16_t transmissions = 0;
    FailureReason reason = FailureReason::none;
    bool success = false;
    TextRing::Ref response;
  };
  struct Entry {
    TargetStatus status;                    // everything but the rings below
    std::array<float, kRecentRtts> rtts{};  // a sparkline's precision
    std::size_t rtt_count = 0;
    std::array<Exchange, kExchanges> exchanges{};
    std::size_t exchange_count = 0;
    TextRing::Ref last_request;
    std::vector<std::pair<std::size_t, AddressStatus>> addresses;  // by address slot
  };
  AddressStatus* address_of(std::size_t slot, std::size_t address);
  TargetStatus export_entry(const Entry& e, bool with_exchanges) const;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // by slot
  TextRing texts_;
  std::string scratch_;  // the redacted request, reused
};

}  // namespace stx
