#pragma once
// The client side of a TLS handshake as every connection transport runs it (TLS in
// probes/stream_connection.h, WSS in probes/ws_connection.h): SNI and the name verified,
// the chain's earliest expiry noted even when verification fails, version and cipher after.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <openssl/ssl.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/verify_context.hpp>
#include <boost/system/error_code.hpp>
#include <string>
#include <string_view>

#include "probes/tls_context.h"

namespace stx {

// Before the handshake: SNI for a DNS name, and the host name or IP address the certificate
// must name when the context verifies. `name` empty: the remote address is checked.
void prepare_tls_client(SSL* ssl, const TlsClientContext& context, std::string_view name,
                        const boost::asio::ip::address& remote);

// The verify callback's body: notes the certificate's expiry and the first verification
// error into `peer`; accepts what OpenSSL accepted, or anything when `verify` is off.
bool note_verification(TlsPeerInfo& peer, bool verify, bool preverified,
                       boost::asio::ssl::verify_context& vc);

// After a successful handshake: version, cipher and the expiry of the chain as presented.
void note_handshake(SSL* ssl, TlsPeerInfo& peer);

// The detail of a failed handshake: the verification error when there was one.
std::string tls_failure_text(const boost::system::error_code& ec, const TlsPeerInfo& peer);

}  // namespace stx
