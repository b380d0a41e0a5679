#include "probes/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>
#include <system_error>

namespace stx {
namespace {

// The root cause OpenSSL queued (the oldest error: "No such file or directory", "no start
// line", "key values mismatch"); the queue is cleared so the next call starts fresh.
std::string openssl_reason() {
  const unsigned long first = ERR_get_error();
  ERR_clear_error();
  if (first == 0) return "unknown OpenSSL error";
  if (ERR_SYSTEM_ERROR(first)) return std::generic_category().message(ERR_GET_REASON(first));
  const char* reason = ERR_reason_error_string(first);
  return reason ? reason : "OpenSSL error " + std::to_string(first);
}

[[noreturn]] void fail(std::string_view what, const std::string& file) {
  throw std::runtime_error("tls " + std::string(what) + " " + file + ": " + openssl_reason());
}

}  // namespace

std::shared_ptr<TlsClientContext> make_tls_client_context(const TlsSettings& settings) {
  ERR_clear_error();
  auto ctx = std::make_shared<TlsClientContext>(
      boost::asio::ssl::context(boost::asio::ssl::context::tls_client));
  SSL_CTX* native = ctx->ssl.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    throw std::runtime_error("tls: cannot require TLS 1.2 or newer: " + openssl_reason());
  }
  // Each probe opens its own connections; a resumed session would skip the checks
  // whose results are reported (verification, expiry).
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET);

  ctx->verify = !settings.insecure_skip_verify;
  // Verification failures are still collected per connection (the callback the connection
  // installs); the mode decides whether they end the handshake.
  SSL_CTX_set_verify(native, ctx->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (!settings.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(native, settings.ca_file.c_str(), nullptr) != 1) {
      fail("ca_file", settings.ca_file);
    }
  } else if (ctx->verify && SSL_CTX_set_default_verify_paths(native) != 1) {
    throw std::runtime_error("tls: cannot load the system CA store: " + openssl_reason());
  }

  if (!settings.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(native, settings.cert_file.c_str()) != 1) {
      fail("cert_file", settings.cert_file);
    }
    const std::string& key = settings.key_file.empty() ? settings.cert_file : settings.key_file;
    // OpenSSL already compares the key with the certificate while loading it.
    const bool loaded = SSL_CTX_use_PrivateKey_file(native, key.c_str(), SSL_FILETYPE_PEM) == 1;
    if (!loaded && ERR_GET_REASON(ERR_peek_error()) != X509_R_KEY_VALUES_MISMATCH) {
      fail("key_file", key);
    }
    if (!loaded || SSL_CTX_check_private_key(native) != 1) {
      throw std::runtime_error("tls key_file " + key + " does not match cert_file " +
                               settings.cert_file + ": " + openssl_reason());
    }
  }
  return ctx;
}

}  // namespace stx
