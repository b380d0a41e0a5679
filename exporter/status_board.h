#pragma once
// What the status pages show, kept per target as probes finish (engine thread) and copied
// out under a lock when a page is rendered (HTTP thread). Bounded: a fixed number of recent
// RTTs and exchanges per target, texts capped, buffers reused once warm.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "exporter/status_page.h"
#include "probes/locator.h"
#include "probes/probe_result.h"
#include "probes/tls_context.h"

namespace stx {

class StatusBoard {
 public:
  static constexpr std::size_t kRecentRtts = 40;
  static constexpr std::size_t kExchanges = 5;
  static constexpr std::size_t kMaxText = 2048;

  void add_target(std::size_t slot, const TargetConfig& target);
  void remove_target(std::size_t slot);
  void record(std::size_t slot, const ProbeResult& r, const TargetState& state,
              const StateChange& change, double unix_now);
  void add_address(std::size_t slot, std::size_t address, const Destination& d);
  void remove_address(std::size_t slot, std::size_t address);
  void record_address(std::size_t slot, std::size_t address, const ProbeResult& r,
                      const TargetState& state);
  void tls_peer(std::size_t slot, std::size_t address, const TlsPeerInfo& info);

  // Every target, sorted by name, each with only its newest exchange and no texts; or, with
  // `name`, only that target with all its exchanges (no `targets` when there is none).
  StatusSnapshot snapshot(double unix_now) const;
  StatusSnapshot snapshot_of(std::string_view name, double unix_now) const;

 private:
  struct Entry {
    TargetStatus status;       // everything but the rings below
    std::vector<double> rtts;  // ring of kRecentRtts
    std::size_t rtt_count = 0;
    std::vector<ExchangeRecord> exchanges;  // ring of kExchanges (request unused)
    std::size_t exchange_count = 0;
    std::string last_request;
    std::vector<std::pair<std::size_t, AddressStatus>> addresses;  // by address slot
  };
  AddressStatus* address_of(std::size_t slot, std::size_t address);
  static TargetStatus export_entry(const Entry& e, bool with_exchanges);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // by slot
};

}  // namespace stx
