#pragma once
// One SIP-over-WebSocket flow (RFC 7118) to one target address, ws or wss, reused across
// probes like a TCP connection. It connects, runs TLS for wss (as probes/stream_connection.h
// does for tls), upgrades with Sec-WebSocket-Protocol: sip and insists the server selects
// it, then carries one SIP message per WebSocket message. Keepalives are WebSocket pings;
// a pong frame is the answer. Beast does all framing. After close() no callback runs again.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <optional>
#include <string_view>

#include "probes/clock.h"
#include "probes/connection.h"

namespace stx {

class WsConnection final : public Connection, public std::enable_shared_from_this<WsConnection> {
 public:
  static std::shared_ptr<WsConnection> create(boost::asio::io_context& io, Clock& clock,
                                              StreamOptions options, StreamHandlers handlers);

  void connect() override;  // async; ends in on_ready or on_failed
  bool ready() const override;
  // Always false: WebSocket marks where each message ends, so a partial one never swallows
  // the next answer.
  bool mid_message() const override;
  std::optional<boost::asio::ip::tcp::endpoint> local_endpoint() const override;
  // One WebSocket text message per call; only valid when ready().
  void send(std::string_view data) override;
  // A WebSocket ping control frame; only valid when ready().
  void send_ping() override;
  void close() override;

  ~WsConnection() override;

 private:
  struct Impl;
  explicit WsConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stx
