#pragma once
// The small settings both sides of the config share: what transports, the TLS client and the
// DNS resolver need, without the whole configuration (config/config.h).
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stx {

// ws and wss: SIP over WebSocket (RFC 7118), plain and over TLS.
enum class Transport : std::uint8_t { udp, tcp, tls, ws, wss };
std::string_view to_string(Transport t);  // "udp", "tcp", "tls", "ws", "wss"

struct TlsSettings {
  std::string ca_file;      // PEM bundle; empty: the system store
  std::string cert_file;    // client certificate (mutual TLS); empty: none
  std::string key_file;     // its key; set exactly when cert_file is
  std::string server_name;  // SNI and the name checked; empty: the URI host
  bool insecure_skip_verify = false;
  bool operator==(const TlsSettings&) const = default;
};

struct DnsSettings {
  std::vector<std::string> servers;    // "ip" or "ip:port" / "[v6]:port"; empty: /etc/resolv.conf
  std::chrono::seconds min_ttl{10};    // answers are kept at least this long...
  std::chrono::seconds max_ttl{3600};  // ...and at most this long
  std::chrono::seconds grace{300};  // a failed refresh keeps the last answer this much past its TTL
  bool operator==(const DnsSettings&) const = default;
};

}  // namespace stx
