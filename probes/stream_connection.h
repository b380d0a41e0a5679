#pragma once
// One TCP or TLS connection to one target address, reused across probes as a PBX does.
// It connects (optionally from a fixed local address), runs the TLS handshake (SNI,
// verification, client certificate), frames the byte stream into SIP messages by
// Content-Length (probes/stream_framer.h) and answers RFC 5626 keepalive pongs.
// The engine owns it through a shared_ptr; after close() no callback runs again.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "probes/clock.h"
#include "probes/connection.h"

namespace stx {

class StreamConnection final : public Connection,
                               public std::enable_shared_from_this<StreamConnection> {
 public:
  using Handlers = StreamHandlers;

  static std::shared_ptr<StreamConnection> create(boost::asio::io_context& io, Clock& clock,
                                                  StreamOptions options, Handlers handlers);

  void connect() override;  // async; ends in on_ready or on_failed
  bool ready() const override;
  // Part of a message has arrived and the rest has not: the stream cannot be trusted to
  // frame the next answer (a short body or a header that never ends).
  bool mid_message() const override;
  // The local endpoint once connected (for Via sent-by and Contact).
  std::optional<boost::asio::ip::tcp::endpoint> local_endpoint() const override;
  // Queues `data` (copied) for writing; only valid when ready().
  void send(std::string_view data) override;
  // RFC 5626 double-CRLF ping; only valid when ready().
  void send_ping() override;
  // Closes the socket; no handler runs after this returns.
  void close() override;

  ~StreamConnection() override;

 private:
  struct Impl;
  explicit StreamConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stx
