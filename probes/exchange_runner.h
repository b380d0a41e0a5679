#pragma once
// The seam between the health checker (when to probe, what outcomes add up to) and the
// exchanges (carrying one request to one address and bringing back one outcome). Addresses
// are small integers the checker assigns; the exchanges keep their own state under them.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "probes/clock.h"
#include "probes/locator.h"
#include "probes/probe_result.h"
#include "probes/prober.h"

namespace stx {

// What the exchanges need of a target. The checker owns it and keeps it at one address
// for as long as any address of the target is open (its settings may be swapped on reload).
struct ProbeTarget {
  std::shared_ptr<const TargetConfig> cfg;
  const Prober* prober = nullptr;
  // The prober's request_uri(cfg) where it is not cfg's URI as written (an R-URI user, or
  // a prober's own form): most targets need no copy.
  std::unique_ptr<const std::string> own_request_uri;
  std::uint32_t slot = 0;      // the target's slot, as the sink names it
  bool background = true;      // false for one-shot probes: the sink hears nothing of them

  // For the Contact: the user part of cfg's From. Worked out when a session is routed (a few
  // times a minute at most), so that a fleet keeps no view of it per target.
  std::string_view from_user() const { return user_part_of(cfg->shared->from); }
  std::string_view request_uri() const {
    return own_request_uri != nullptr ? std::string_view(*own_request_uri) : cfg->uri;
  }
};

class ExchangeListener {
 public:
  virtual ~ExchangeListener() = default;
  // The exchange on `address` ended; the result names the address's destination. Its views are
  // valid during the call only; the listener may close `address` (and others) from inside it.
  virtual void exchange_finished(std::uint32_t address, ProbeResult& result, TimePoint now) = 0;
};

class ExchangeRunner {
 public:
  virtual ~ExchangeRunner() = default;
  // A new address of `target`; `generation` tells it from earlier users of the number.
  virtual void open(std::uint32_t address, std::uint32_t generation, const ProbeTarget& target,
                    const Destination& destination) = 0;
  // Forgets the address: an exchange in progress is abandoned without a report.
  virtual void close(std::uint32_t address) = 0;
  // Starts one exchange, to end by `deadline`; the listener hears its outcome (perhaps
  // before this returns, on a send error).
  virtual void start(std::uint32_t address, TimePoint now, TimePoint deadline) = 0;
  // The deadline passed with the exchange still open: it ends now as a timeout (or as a
  // connect failure when its connection never came up).
  virtual void expire(std::uint32_t address, TimePoint now) = 0;
  // Until when the address has work left after its outcome was reported: a test call's
  // CANCEL or BYE resent until answered, and the peer's late answers until Timer B. A
  // one-shot probe closes its addresses only then, or a lost BYE would leave the call up.
  virtual TimePoint busy_until(std::uint32_t address) const = 0;
  // Where the open `address` sends: the checker keeps no copy of its own.
  virtual const Destination& destination(std::uint32_t address) const = 0;
};

}  // namespace stx
