#pragma once
// What the status pages show, kept per target as probes finish (engine thread) and copied
// out under a lock when a page is rendered (HTTP thread). Bounded: a fixed number of recent
// RTTs and exchanges per target, and their texts in one ring shared by every target.
#include <array>
#include <boost/container/small_vector.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "config/config.h"
#include "exporter/status_page.h"
#include "exporter/text_ring.h"
#include "probes/locator.h"
#include "probes/probe_result.h"
#include "probes/slots.h"
#include "probes/tls_context.h"

namespace stx {

class StatusBoard {
 public:
  static constexpr std::size_t kRecentRtts = 40;
  static constexpr std::size_t kExchanges = 5;
  static constexpr std::size_t kMaxText = 2048;
  // Request and response texts of every target, and their exchanges before the newest: the
  // newest 16 MiB. That keeps all five exchanges of about 2,500 targets, and the newest of
  // most at 10,000 targets @ 1 s.
  static constexpr std::size_t kTextBytes = 16 << 20;

  explicit StatusBoard(std::size_t text_bytes = kTextBytes) : texts_(text_bytes) {}

  // A recent RTT in two bytes, a sparkline's precision: 0 for a probe without answer, else
  // 1 + 2048 log2(RTT / 1 us), so within 0.02% from 1 us to over an hour. Back: -1 for 0.
  static std::uint16_t pack_rtt(double seconds);
  static double unpack_rtt(std::uint16_t packed);

  // `target` is kept, not copied: it is immutable, and shared with the checker.
  void add_target(std::size_t slot, std::shared_ptr<const TargetConfig> target);
  // A reload kept the target: its equal configuration from the new list replaces the old.
  void keep_target(std::size_t slot, std::shared_ptr<const TargetConfig> target);
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
  // The target's name; "" if unknown.
  std::string name_of(std::size_t slot) const;
  // The address as the `address` label writes it ("192.0.2.1:5060"); "" if unknown.
  std::string address_label(std::size_t slot, std::size_t address) const;

  // Every target, sorted by name, each with only its newest exchange and no texts; or, with
  // `name`, only that target with all its exchanges (no `targets` when there is none).
  StatusSnapshot snapshot(double unix_now) const;
  StatusSnapshot snapshot_of(std::string_view name, double unix_now) const;

 private:
  // An ExchangeRecord without its texts, in 32 bytes: the response's TextRing::Ref is kept
  // as its two fields so that they fill the padding, times shown to the millisecond need no
  // more than a float's 7 digits, and a stored response is at most kMaxText bytes.
  struct Exchange {
    double unix_time = 0;
    std::uint64_t response_at = 0;
    float rtt_seconds = -1;
    float duration_seconds = 0;
    std::uint16_t response_size = 0;
    std::int16_t code = 0;
    std::uint16_t transmissions = 0;
    FailureReason reason = FailureReason::none;
    bool success = false;
    TextRing::Ref response() const { return {response_at, response_size}; }
  };
  static_assert(kMaxText <= 0xffff,
                "Exchange::response_size and Entry::last_request_size hold a stored text's size");
  // An exchange that a newer one replaced, in the text ring with its texts: the entry keeps
  // only its newest, so a target costs 32 bytes of exchanges instead of 160, and at 100,000
  // targets the older ones go as their texts do. `older_at` chains them, newest first.
  static constexpr std::uint64_t kNoOlder = ~std::uint64_t{0};
  struct StoredExchange {
    Exchange exchange;
    std::uint64_t older_at = kNoOlder;  // the ring position of the one before
  };
  static_assert(std::is_trivially_copyable_v<StoredExchange>, "copied through the ring");
  // An AddressStatus with its fixed words as enums: a target may have several addresses.
  struct Address {
    std::uint32_t id = 0;  // the address slot
    Health state = Health::unknown;
    bool recorded = false;  // reason is the last probe's (else no probe yet: "")
    FailureReason reason = FailureReason::none;
    int last_code = 0;
    double last_rtt_seconds = -1;
    Destination dest;
    // What few addresses have: a TLS handshake's words and certificate expiry, a peer's
    // Retry-After pause. Made at the first of them; most of a UDP fleet never needs it.
    struct Extra {
      std::string tls;  // "<version> <cipher>"; empty before a handshake told them
      double cert_expiry_unix = 0;
      double paused_until_unix = 0;
    };
    std::unique_ptr<Extra> extra;
    Extra& extras() { return extra ? *extra : *(extra = std::make_unique<Extra>()); }
  };
  // Header values of the last responses: allocated once a response carried any.
  struct Heard {
    std::string server, allow, supported, accept;
  };
  // A TargetStatus without its derived words and rings: one per target, so it stays small.
  struct Entry {
    std::shared_ptr<const TargetConfig> config;  // name, URI and labels
    Health state = Health::unknown;
    std::uint16_t last_request_size = 0;  // with last_request_at, the TextRing::Ref
    int consecutive_failures = 0;
    std::uint32_t rtt_count = 0;  // probes finished; `newest` holds the last once not 0
    double last_rtt_seconds = -1;
    double last_change_unix = 0;
    std::unique_ptr<Heard> heard;
    std::array<std::uint16_t, kRecentRtts> rtts{};  // pack_rtt()
    std::uint64_t last_request_at = 0;
    Exchange newest;
    std::uint64_t older_at = kNoOlder;  // a StoredExchange in the ring
    // In the order they were added; most targets have one, which needs no allocation.
    boost::container::small_vector<Address, 1> addresses;
    TextRing::Ref last_request() const { return {last_request_at, last_request_size}; }
  };
  Address* address_of(std::size_t slot, std::size_t address);
  const Address* address_of(std::size_t slot, std::size_t address) const;
  static AddressStatus export_address(const Address& a);
  static void record_heard(Entry& e, const ProbeResult& r);
  void keep_older(Entry& e);
  ExchangeRecord export_exchange(const Exchange& x, bool with_text) const;
  TargetStatus export_entry(const Entry& e, bool with_exchanges) const;

  mutable std::mutex mu_;
  SlotTable<Entry> entries_;  // by slot
  TextRing texts_;
  std::string scratch_;  // the redacted request, reused
};

}  // namespace stx
