#pragma once
// The ordering rules of RFC 3263 section 4 and RFC 2782 as pure functions (implemented in
// locator.cc), so they can be tested without DNS.
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "config/value_types.h"
#include "probes/dns_resolver.h"
#include "probes/locator.h"

namespace stx {

// "SIPS+D2T" -> tls, "SIP+D2T" -> tcp, "SIP+D2U" -> udp (any case); nullopt for the rest.
std::optional<Transport> naptr_transport(std::string_view service);

// A NAPTR record to follow: look up `srv_name` as SRV, use `transport`.
struct NaptrChoice {
  Transport transport = Transport::udp;
  std::string srv_name;
  bool operator==(const NaptrChoice&) const = default;
};

// The records with flag "s", a SIP service above and a replacement, by order then
// preference (ties keep the answer's order), without repeats.
std::vector<NaptrChoice> order_naptr(const std::vector<NaptrRecord>& records);

// RFC 2782: by priority ascending; within a priority, weighted random selection where
// weight-0 records are placed first and so are chosen only when the draw is 0.
std::vector<SrvRecord> order_srv(std::vector<SrvRecord> records, std::mt19937_64& rng);

// "_sips._tcp.<host>" for tls, "_sip._tcp.<host>" for tcp, "_sip._udp.<host>" for udp.
std::string srv_name(Transport t, std::string_view host);

// 5061 for tls, 80 for ws, 443 for wss (RFC 7118), else 5060.
std::uint16_t default_port(Transport t);

// `ttl` limited to [settings.min_ttl, settings.max_ttl] (min_ttl wins if they cross).
std::chrono::seconds clamp_ttl(std::chrono::seconds ttl, const DnsSettings& settings);

// Removes repeated destinations, keeping the first of each.
void remove_duplicates(std::vector<Destination>& destinations);

}  // namespace stx
