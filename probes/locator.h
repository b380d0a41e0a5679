#pragma once
// RFC 3263 server location: a target URI -> the ordered addresses, ports and transports
// to probe, with how long the answer may be used. DNS goes through c-ares on the
// engine's io_context (probes/dns_resolver.h); nothing here blocks.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/value_types.h"
#include "probes/clock.h"
#include "sip/sip_uri.h"

namespace stx {

struct Destination {
  boost::asio::ip::address address;
  std::uint16_t port = 0;
  Transport transport = Transport::udp;
  bool operator==(const Destination&) const = default;
};

// "192.0.2.1:5060" or "[2001:db8::1]:5061": the `address` label value.
std::string to_string(const Destination& d);

struct Location {
  std::vector<Destination> destinations;  // RFC 3263 order, no duplicates
  std::chrono::seconds ttl{0};            // smallest TTL of the records used, clamped to
                                          // [min_ttl, max_ttl]; 0 for IP literals (never expires)
  bool from_dns = false;                  // false for IP literals
};

struct LocateResult {
  bool ok = false;
  std::string error;  // when !ok: one line, e.g. "SRV _sip._udp.example.net: NXDOMAIN"
  Location location;
};

// Where targets are: the checker asks this, so tests can answer in virtual time.
class LocationService {
 public:
  using Done = std::function<void(const LocateResult&)>;
  virtual ~LocationService() = default;
  // Locates `uri` (with the target's explicit transport, if any). `done` runs exactly once,
  // later (never inside this call), unless cancel_all() or the destructor comes first.
  virtual void locate(const SipUri& uri, std::optional<Transport> transport, Done done) = 0;
  // Drops every pending lookup; their Done never runs.
  virtual void cancel_all() = 0;
};

// Makes the location service for a DNS configuration (again on every DNS change).
using LocatorFactory = std::function<std::unique_ptr<LocationService>(const DnsSettings&)>;

// RFC 3263 over c-ares on the io_context. An IP literal needs no DNS and answers at once
// (still posted).
class Locator final : public LocationService {
 public:
  // `clock` times c-ares' retransmissions; null: the steady clock.
  Locator(boost::asio::io_context& io, const DnsSettings& settings, Clock* clock = nullptr);
  ~Locator() override;  // pending lookups are dropped: their Done never runs
  Locator(const Locator&) = delete;
  Locator& operator=(const Locator&) = delete;

  void locate(const SipUri& uri, std::optional<Transport> transport, Done done) override;
  void cancel_all() override;

 private:
  struct Impl;
  std::unique_ptr<Clock> own_clock_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stx
