#pragma once
// NAPTR, SRV, A and AAAA queries through one c-ares channel driven by an Asio io_context:
// no threads, no blocking. c-ares sockets are watched with stream_descriptor waits and its
// retransmissions with an Alarm of the injected Clock.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/value_types.h"
#include "probes/clock.h"

namespace stx {

enum class DnsType : std::uint8_t { naptr, srv, a, aaaa };
std::string_view to_string(DnsType t);  // "NAPTR", "SRV", "A", "AAAA"

enum class DnsStatus : std::uint8_t {
  ok,          // at least one record of the type asked for
  nxdomain,    // the name does not exist
  no_records,  // the name exists, without records of that type
  failed,      // timeout, SERVFAIL, REFUSED, connection refused, malformed answer...
};

struct NaptrRecord {
  std::uint16_t order = 0;
  std::uint16_t preference = 0;
  std::string flags;
  std::string service;
  std::string regexp;
  std::string replacement;  // "" for the root (".")
  bool operator==(const NaptrRecord&) const = default;
};

struct SrvRecord {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;  // "" for the root ("."): the service is not offered
  bool operator==(const SrvRecord&) const = default;
};

struct DnsAnswer {
  DnsStatus status = DnsStatus::failed;
  std::string error;               // when !ok(): "SRV _sip._udp.example.test: NXDOMAIN"
  std::chrono::seconds ttl{0};     // smallest TTL in the answer section
  std::vector<NaptrRecord> naptr;  // NAPTR queries
  std::vector<SrvRecord> srv;      // SRV queries
  std::vector<boost::asio::ip::address> addresses;  // A and AAAA queries, answer order
  bool ok() const { return status == DnsStatus::ok; }
};

// The smallest TTL of the answer section of a DNS message; nullopt when it has no answers or
// is malformed. TTLs with the top bit set count as 0 (RFC 2181 8).
std::optional<std::uint32_t> min_answer_ttl(const unsigned char* msg, int len);

class DnsResolver {
 public:
  using Done = std::function<void(const DnsAnswer&)>;

  // `settings.servers` empty: the servers of /etc/resolv.conf. Throws std::invalid_argument
  // naming the entry when a server is not "ip", "ip:port" or "[v6]:port", and
  // std::runtime_error when c-ares cannot be set up.
  DnsResolver(boost::asio::io_context& io, Clock& clock, const DnsSettings& settings);
  ~DnsResolver();  // pending queries are dropped: their Done never runs
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // `done` runs exactly once, later on the io_context (never inside this call), unless
  // cancel_all() or the destructor comes first. Do not destroy the resolver from inside a
  // c-ares callback; from inside `done` is fine.
  void query(DnsType type, const std::string& name, Done done);

  // Drops every pending query; their Done never runs.
  void cancel_all();

  // The addresses the hosts file (/etc/hosts) gives `name`, IPv4 first; "localhost" and
  // "*.localhost" are loopback even when the file has no entry (RFC 6761 6.3), so they never
  // reach a DNS server. Synchronous: a file read.
  std::vector<boost::asio::ip::address> hosts_file(const std::string& name);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stx
