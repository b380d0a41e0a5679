#pragma once
// Kamailio with UDP, TCP and TLS listeners on 127.0.0.1 and [::1], for the transport
// tests. Config templates: peers/kamailio_transports.cfg and kamailio_transports_tls.cfg
// (routes by Request-URI user: auth, teams, xhdr, nobody; see the template).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "certs.h"
#include "harness.h"

namespace stx::it {

// Whether a TCP socket listens on `port` (any local address) per /proc/net/tcp{,6}.

struct TransportPorts {
  std::uint16_t udp4 = 0, udp6 = 0;  // 127.0.0.1, [::1]
  std::uint16_t tcp4 = 0, tcp6 = 0;
  std::uint16_t tls4 = 0, tls6 = 0;  // the good certificate
  std::uint16_t tls_expired = 0;     // 127.0.0.1, the expired certificate
  std::uint16_t tls_wrong_name = 0;  // 127.0.0.1, a certificate for wrong.example.test
  std::uint16_t tls_mutual = 0;      // 127.0.0.1, requires a client certificate from the test CA
  std::vector<std::uint16_t> tcp_ports() const;
  std::vector<std::uint16_t> udp_ports() const;
};

struct KamailioTransportsOptions {
  std::string name = "kamailio-transports";
  std::string auth_algorithm = "MD5";  // modparam("auth", "algorithm"): "MD5" or "SHA-256"
};

class KamailioTransports {
 public:
  // Picks free ports, writes both configs into `dir` and starts Kamailio; returns once
  // every listener is bound. Throws with Kamailio's log tail when it does not come up.
  KamailioTransports(std::filesystem::path dir, const TestCertificates& certs,
                     KamailioTransportsOptions options = {});
  const TransportPorts& ports() const { return ports_; }
  // The running Kamailio; throws after kill() until restart().
  Process& process();
  // SIGKILL, then waits until no listener is bound.
  void kill();
  // Starts it again on the same ports.
  void restart();

 private:
  void start();
  std::filesystem::path dir_;
  const TestCertificates& certs_;
  KamailioTransportsOptions options_;
  TransportPorts ports_;
  int generation_ = 0;
  std::unique_ptr<Process> process_;
  std::vector<std::unique_ptr<Process>> retired_;
};

}  // namespace stx::it
