#pragma once
// What every connection transport (probes/stream_connection.h, probes/ws_connection.h) does
// with its TCP socket before connecting, and how it names read errors.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <string>

#include "probes/connection.h"

namespace stx {

// Opens `socket` for `options.remote`, binds it to `options.local` when set and turns off
// Nagle (small requests must not wait for acks). Empty on success, else why not (a connect
// failure: "socket: ...", "bind 192.0.2.1:5060: ..."); the socket is then closed or unusable.
std::string open_stream_socket(boost::asio::ip::tcp::socket& socket, const StreamOptions& options);

// The peer ended the flow: EOF, or TLS without close_notify.
bool peer_closed(const boost::system::error_code& ec);

// "connection closed by peer", "connection reset by peer", "read: ...".
std::string read_error_text(const boost::system::error_code& ec);

}  // namespace stx
