#pragma once
// A connection transport as the exchanges see it: one flow to one address that carries SIP
// messages and RFC 5626 keepalives. TCP and TLS are probes/stream_connection.h, WebSocket
// (ws, wss) probes/ws_connection.h; tests use a scripted one. The factory is injected so state
// machines above it run in virtual time.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/value_types.h"
#include "probes/clock.h"
#include "probes/tls_context.h"

namespace stx {

// Why a connection became unusable. Values map onto probe failure reasons.
enum class StreamFailure : std::uint8_t {
  connect,    // TCP connect refused, unreachable, or bind failed
  reset,      // reset or closed by the peer, write/read error, framing error
  tls,        // handshake failed: verification (expired, wrong name, unknown CA), alert
  websocket,  // WebSocket upgrade refused (not 101) or subprotocol sip not selected
};

struct StreamOptions {
  Transport transport = Transport::tcp;  // tcp, tls, ws or wss
  boost::asio::ip::tcp::endpoint remote;
  std::optional<boost::asio::ip::tcp::endpoint> local;  // source_address/source_port
  std::shared_ptr<TlsClientContext> tls;                // required for tls and wss
  std::string tls_name;  // SNI and verified name (a DNS name or an IP literal)
  // ws and wss: the upgrade request's Host header (URI host, ":port" when not the default)
  // and request target (ws_path).
  std::string ws_host;
  std::string ws_path = "/";
};

struct StreamHandlers {
  // Connected and, for TLS, handshake done. `tls` is null for TCP.
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

class Connection {
 public:
  virtual ~Connection() = default;
  virtual void connect() = 0;  // async; ends in on_ready or on_failed
  virtual bool ready() const = 0;
  // Part of a message has arrived and the rest has not: the stream cannot be trusted to
  // frame the next answer (a short body or a header that never ends).
  virtual bool mid_message() const = 0;
  // The local endpoint once connected (for Via sent-by and Contact).
  virtual std::optional<boost::asio::ip::tcp::endpoint> local_endpoint() const = 0;
  // Queues `data` (copied) for writing; only valid when ready().
  virtual void send(std::string_view data) = 0;
  // RFC 5626 double-CRLF ping; only valid when ready().
  virtual void send_ping() = 0;
  // Closes the flow; no handler runs after this returns.
  virtual void close() = 0;
};

using ConnectionFactory =
    std::function<std::shared_ptr<Connection>(StreamOptions options, StreamHandlers handlers)>;

}  // namespace stx
