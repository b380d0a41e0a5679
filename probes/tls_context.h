#pragma once
// TLS client settings -> an OpenSSL context for Boost.Asio ssl streams, and what a
// handshake tells about the peer (version, cipher, the chain's earliest expiry).
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <optional>
#include <string>

#include "config/value_types.h"

namespace stx {

struct TlsPeerInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  std::optional<double> cert_expiry;  // Unix seconds: earliest notAfter in the peer's chain
  std::string verify_error;           // empty when verified (or verification is off)
};

// One context per distinct TlsSettings; shared by the connections that use it.
struct TlsClientContext {
  boost::asio::ssl::context ssl;
  bool verify = true;
  explicit TlsClientContext(boost::asio::ssl::context c) : ssl(std::move(c)) {}
};

// Builds a context: TLS 1.2 minimum, peer verification against `settings.ca_file` or the
// system store unless insecure_skip_verify, client certificate and key when set.
// Throws std::runtime_error naming the file and the OpenSSL reason on a bad file.
std::shared_ptr<TlsClientContext> make_tls_client_context(const TlsSettings& settings);

}  // namespace stx
