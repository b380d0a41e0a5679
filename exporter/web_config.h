#pragma once
// --web.config.file: the exporter-toolkit web configuration (YAML) that every official
// Prometheus exporter reads: TLS for the HTTP endpoint and HTTP basic auth with bcrypt hashes.
//
//   tls_server_config:
//     cert_file: server.crt          # relative paths: relative to the web config file
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert
//     client_ca_file: ca.crt
//     min_version: TLS12
//   basic_auth_users:
//     alice: $2y$10$...
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace stx {

// "PATH:LINE:COLUMN: message" (or "PATH: message" where no position applies).
class WebConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Go crypto/tls ClientAuthType, by exporter-toolkit's names.
enum class ClientAuth {
  no_client_cert,                  // NoClientCert (default)
  request_client_cert,             // RequestClientCert: asked for, not required, not verified
  require_any_client_cert,         // RequireAnyClientCert: required, not verified
  verify_client_cert_if_given,     // VerifyClientCertIfGiven: verified when sent
  require_and_verify_client_cert,  // RequireAndVerifyClientCert
};

// The lowest version is TLS 1.2: the format's TLS10 and TLS11 are refused when loading.
enum class TlsVersion { tls12, tls13 };

std::string_view client_auth_name(ClientAuth a);
std::string_view tls_version_name(TlsVersion v);

struct TlsServerSettings {
  std::string cert_file;  // PEM certificate chain, server certificate first
  std::string key_file;   // PEM private key
  ClientAuth client_auth = ClientAuth::no_client_cert;
  std::string client_ca_file;  // PEM CA bundle; empty unless configured
  TlsVersion min_version = TlsVersion::tls12;
  std::optional<TlsVersion> max_version;
};

struct WebConfig {
  std::optional<TlsServerSettings> tls;                 // absent: plain HTTP
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash; empty: no auth
  std::vector<std::string> warnings;                    // "PATH: ..." lines worth logging
};

// Reads and validates the file. File paths inside are resolved against the file's directory.
// Throws WebConfigError. Does not open the certificate files: make_tls_context does.
WebConfig load_web_config(const std::string& path);
// The same on YAML text; `source_name` prefixes messages, `base_dir` resolves relative paths.
WebConfig parse_web_config(std::string_view yaml, const std::string& source_name,
                           const std::string& base_dir);

// A TLS server context: certificate chain and key loaded (and checked to match), minimum
// (and maximum) protocol version, client certificate policy and CA. Throws WebConfigError
// naming the file and OpenSSL's reason.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const TlsServerSettings& tls);

// HTTP basic auth against bcrypt hashes (crypt_r). Thread-safe. Successful checks are cached
// under a salted SHA-256 of the Authorization value (never the plaintext), so a scraper that
// sends the same header every 15 s pays for bcrypt once; the cache is bounded (LRU).
class BasicAuth {
 public:
  BasicAuth();  // disabled: check() accepts everything
  // `users` as validated by load_web_config (bcrypt hashes). Empty: disabled.
  explicit BasicAuth(const std::map<std::string, std::string>& users,
                     std::size_t cache_capacity = 256);
  ~BasicAuth();
  BasicAuth(const BasicAuth&) = delete;
  BasicAuth& operator=(const BasicAuth&) = delete;

  bool enabled() const { return !users_.empty(); }
  // `authorization` is the Authorization header's value ("Basic base64(user:password)"), empty
  // when the request had none. True when auth is disabled or the credentials match.
  bool check(std::string_view authorization) const;
  // What check() would say when that needs no bcrypt: true for cached credentials (or auth
  // disabled), false for a header no password could make pass; nullopt when only bcrypt can
  // tell. Fast, so the HTTP thread calls it before queueing anything.
  std::optional<bool> quick_check(std::string_view authorization) const;

  // For tests: how many bcrypt computations check() has run, and the cache's current size.
  std::uint64_t bcrypt_calls() const { return bcrypt_calls_.load(); }
  std::size_t cache_size() const;

 private:
  bool verify(const std::string& user, const std::string& password) const;
  std::string cache_key(std::string_view credentials) const;
  bool cache_lookup(const std::string& key) const;
  void cache_insert(const std::string& key) const;

  std::map<std::string, std::string, std::less<>> users_;
  std::string dummy_setting_;  // bcrypt salt of the users' highest cost, for unknown users
  std::string salt_;           // random, per instance: cache keys are SHA-256(salt + value)
  std::size_t capacity_;

  mutable std::atomic<std::uint64_t> bcrypt_calls_{0};
  mutable std::mutex bcrypt_mutex_;  // one bcrypt at a time: bounds the CPU a flood can take
  struct CryptBuffer;
  std::unique_ptr<CryptBuffer> crypt_buffer_;  // guarded by bcrypt_mutex_

  mutable std::mutex cache_mutex_;
  mutable std::list<std::string> lru_;  // most recent first
  mutable std::unordered_map<std::string, std::list<std::string>::iterator> cache_;
};

// The standard base64 alphabet with padding; nullopt on anything else (as Go's
// base64.StdEncoding, which r.BasicAuth() uses).
std::optional<std::string> decode_base64(std::string_view in);

}  // namespace stx
