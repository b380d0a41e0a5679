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

#include "config/config.h"
#include "probes/timer_queue.h"
#include "probes/tls_context.h"

namespace stx {

// Why a connection became unusable. Values map onto probe failure reasons.
enum class StreamFailure : std::uint8_t {
  connect,  // TCP connect refused, unreachable, or bind failed
  reset,    // reset or closed by the peer, write/read error, framing error
  tls,      // handshake failed: verification (expired, wrong name, unknown CA), alert
};

struct StreamOptions {
  Transport transport = Transport::tcp;  // tcp or tls
  boost::asio::ip::tcp::endpoint remote;
  std::optional<boost::asio::ip::tcp::endpoint> local;  // source_address/source_port
  std::shared_ptr<TlsClientContext> tls;                // required for tls
  std::string tls_name;  // SNI and verified name (a DNS name or an IP literal)
};

class StreamConnection : public std::enable_shared_from_this<StreamConnection> {
 public:
  struct Handlers {
    // TCP connected and, for TLS, handshake done. `tls` is null for TCP.
    std::function<void(const TlsPeerInfo* tls)> on_ready;
    // One complete SIP message (start line to end of body), and when its last byte came in.
    std::function<void(std::string_view message, TimePoint received)> on_message;
    // A single CRLF pong arrived after our double-CRLF ping.
    std::function<void(TimePoint received)> on_pong;
    // Bytes that could not be framed (the connection is then failed with `reset`); `why`
    // is a short token like the parse errors ("too_large", "bad_content_length").
    std::function<void(std::string_view why)> on_invalid;
    // The connection is unusable and closed. For a TLS handshake failure `tls` holds what
    // was learned anyway (certificate expiry from the verify callback), else null.
    std::function<void(StreamFailure failure, std::string_view detail, const TlsPeerInfo* tls)>
        on_failed;
  };

  static std::shared_ptr<StreamConnection> create(boost::asio::io_context& io,
                                                  StreamOptions options, Handlers handlers);

  void connect();  // async; ends in on_ready or on_failed
  bool ready() const;
  // Part of a message has arrived and the rest has not: the stream cannot be trusted to
  // frame the next answer (a short body or a header that never ends).
  bool mid_message() const;
  // The local endpoint once connected (for Via sent-by and Contact).
  std::optional<boost::asio::ip::tcp::endpoint> local_endpoint() const;
  // Queues `data` (copied) for writing; only valid when ready().
  void send(std::string_view data);
  // RFC 5626 double-CRLF ping; only valid when ready().
  void send_ping();
  // Closes the socket; no handler runs after this returns.
  void close();

  ~StreamConnection();

 private:
  struct Impl;
  explicit StreamConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stx
