#pragma once
// A real DNS server for tests: dnsmasq in the foreground on 127.0.0.1:<free port> (UDP and
// TCP), answering only from the zone given, never forwarding anywhere.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness.h"

namespace stx::it {

struct DnsHostRecord {
  std::string name;
  std::string ipv4;  // either or both
  std::string ipv6;
  std::optional<int> ttl;  // default: DnsZone::ttl
};

struct DnsSrvRecord {
  std::string name;    // "_sip._udp.example.test"
  std::string target;  // empty: "." (service not offered)
  std::uint16_t port = 5060;
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
};

struct DnsNaptrRecord {
  std::string name;
  std::uint16_t order = 0;
  std::uint16_t preference = 0;
  std::string flags = "s";
  std::string service;  // "SIP+D2U"
  std::string regexp;
  std::string replacement;  // "_sip._udp.example.test"
};

struct DnsZone {
  // Names under these domains are answered from the records below only: others are NXDOMAIN.
  std::vector<std::string> domains = {"example.test"};
  std::vector<DnsHostRecord> hosts;
  std::vector<DnsSrvRecord> srv;
  std::vector<DnsNaptrRecord> naptr;
  int ttl = 60;  // TTL of SRV and NAPTR records (dnsmasq has one for all) and of hosts without one
};

class DnsServer {
 public:
  // Starts dnsmasq and waits until it answers a query. Throws when it does not come up.
  DnsServer(std::filesystem::path dir, DnsZone zone, std::string_view name = "dnsmasq");
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  std::uint16_t port() const { return port_; }
  // "127.0.0.1:<port>", for DnsSettings::servers.
  std::string server() const;
  // Kills dnsmasq; queries then get ICMP port unreachable.
  void stop();
  // Starts it again on the same port with the same zone.
  void restart();
  bool running() const { return process_ != nullptr; }
  // The log of the current (or last) run, with --log-queries lines.
  std::string log() const;

 private:
  void start();
  bool answers(Clock::duration timeout) const;

  std::filesystem::path dir_;
  DnsZone zone_;
  std::string name_;
  std::uint16_t port_ = 0;
  int generation_ = 0;
  std::unique_ptr<Process> process_;
  std::vector<std::unique_ptr<Process>> retired_;  // keeps logs for failure reports
};

}  // namespace stx::it
