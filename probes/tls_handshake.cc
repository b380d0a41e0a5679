#include "probes/tls_handshake.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <optional>

#include "probes/stream_socket.h"

namespace stx {
namespace {

std::optional<double> not_after(X509* cert) {
  if (cert == nullptr) return std::nullopt;
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return std::nullopt;
  return static_cast<double>(timegm(&tm));
}

void note_expiry(TlsPeerInfo& info, X509* cert) {
  const auto t = not_after(cert);
  if (t && (!info.cert_expiry || *t < *info.cert_expiry)) info.cert_expiry = t;
}

void note_chain(TlsPeerInfo& info, STACK_OF(X509) * chain) {
  if (chain == nullptr) return;
  for (int i = 0; i < sk_X509_num(chain); ++i) note_expiry(info, sk_X509_value(chain, i));
}

// "[::1]" -> "::1"; the name checked against the certificate's IP SANs.
std::string_view strip_brackets(std::string_view name) {
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
    return name.substr(1, name.size() - 2);
  }
  return name;
}

bool is_ip_literal(const std::string& name) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  return !ec;
}

}  // namespace

void prepare_tls_client(SSL* ssl, const TlsClientContext& context, std::string_view name,
                        const boost::asio::ip::address& remote) {
  std::string checked(strip_brackets(name));
  if (checked.empty()) checked = remote.to_string();
  const bool ip = is_ip_literal(checked);
  // RFC 6066 3: SNI carries DNS names only.
  if (!ip) SSL_set_tlsext_host_name(ssl, checked.c_str());
  if (!context.verify) return;
  if (ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), checked.c_str());
  } else {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl, checked.c_str());
  }
}

bool note_verification(TlsPeerInfo& peer, bool verify, bool preverified,
                       boost::asio::ssl::verify_context& vc) {
  X509_STORE_CTX* store = vc.native_handle();
  note_expiry(peer, X509_STORE_CTX_get_current_cert(store));
  note_chain(peer, X509_STORE_CTX_get0_untrusted(store));
  if (!preverified && verify && peer.verify_error.empty()) {
    peer.verify_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
  }
  return preverified || !verify;
}

void note_handshake(SSL* ssl, TlsPeerInfo& peer) {
  peer.version = SSL_get_version(ssl);
  peer.cipher = SSL_get_cipher_name(ssl);
  X509* leaf = SSL_get1_peer_certificate(ssl);
  note_expiry(peer, leaf);
  X509_free(leaf);
  note_chain(peer, SSL_get_peer_cert_chain(ssl));
}

std::string tls_failure_text(const boost::system::error_code& ec, const TlsPeerInfo& peer) {
  if (!peer.verify_error.empty()) return peer.verify_error;
  if (peer_closed(ec)) return "connection closed during the TLS handshake";
  if (ec == boost::asio::error::connection_reset)
    return "connection reset during the TLS handshake";
  return ec.message();
}

}  // namespace stx
