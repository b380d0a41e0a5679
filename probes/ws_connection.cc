#include "probes/ws_connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <string>
#include <vector>

#include "probes/stream_socket.h"
#include "probes/tls_handshake.h"
#include "sip/sip_response.h"

namespace stx {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

using PlainWs = websocket::stream<beast::tcp_stream>;
using SecureWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

constexpr const char* kSubprotocol = "sip";  // RFC 7118 1

enum class State : std::uint8_t { idle, connecting, handshaking, upgrading, ready, closed };

bool is_tls_error(const error_code& ec) { return ec.category() == asio::error::get_ssl_category(); }

// Why the upgrade failed when the server's answer is to blame: not 101, not HTTP, or not a
// valid WebSocket acceptance. Empty when the connection itself failed (closed, reset, TLS).
std::string upgrade_error_text(const error_code& ec, const websocket::response_type& response) {
  if (ec == websocket::error::upgrade_declined) {
    return "WebSocket handshake refused: HTTP " + std::to_string(response.result_int());
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return "";
  if (ec == websocket::condition::handshake_failed ||
      ec.category() == http::make_error_code(http::error::bad_version).category()) {
    return "WebSocket handshake: " + ec.message();
  }
  return "";
}

std::string closed_during_upgrade(const error_code& ec) {
  if (ec == http::error::end_of_stream || ec == http::error::partial_message || peer_closed(ec)) {
    return "connection closed during the WebSocket handshake";
  }
  if (ec == asio::error::connection_reset) return "connection reset during the WebSocket handshake";
  return "WebSocket handshake: " + ec.message();
}

bool selected_sip(const websocket::response_type& response) {
  const auto it = response.find(http::field::sec_websocket_protocol);
  return it != response.end() && it->value() == kSubprotocol;
}

}  // namespace

struct WsConnection::Impl {
  using Self = std::shared_ptr<WsConnection>;

  Impl(asio::io_context& io, Clock& clock, StreamOptions o, StreamHandlers h)
      : io(io), clock(clock), options(std::move(o)), handlers(std::move(h)) {}

  asio::io_context& io;
  Clock& clock;
  StreamOptions options;
  StreamHandlers handlers;
  // Exactly one is set once connect() ran: ws, or wss over TLS.
  std::optional<PlainWs> plain;
  std::optional<SecureWs> secure;
  State state = State::idle;
  int dispatching = 0;  // handler calls in progress; handlers are cleared when it is 0
  websocket::response_type response;  // the server's answer to the upgrade
  beast::flat_buffer read_buffer;     // one message at a time, its capacity reused
  // Messages queued by send() and being written, back to back with their sizes: each goes
  // out as one WebSocket message. The pairs swap, so none reallocates once warm.
  std::string pending;
  std::vector<std::size_t> pending_sizes;
  std::string inflight;
  std::vector<std::size_t> inflight_sizes;
  std::size_t inflight_next = 0;
  std::size_t inflight_offset = 0;
  bool writing = false;
  bool pinging = false;
  TlsPeerInfo peer;  // wss: what the verify callback saw, completed after the handshake

  // Runs `fn` on whichever stream this connection uses.
  template <typename Fn>
  void with_ws(Fn&& fn) {
    if (secure) {
      fn(*secure);
    } else {
      fn(*plain);
    }
  }

  tcp::socket& socket() {
    return secure ? beast::get_lowest_layer(*secure).socket()
                  : beast::get_lowest_layer(*plain).socket();
  }

  // Runs a handler so that close() from inside it cannot destroy it while it runs.
  template <typename Fn, typename... Args>
  void dispatch(Fn& fn, Args&&... args) {
    if (!fn) return;
    ++dispatching;
    fn(std::forward<Args>(args)...);
    --dispatching;
  }

  void clear_handlers_when_idle() {
    if (dispatching > 0) return;
    StreamHandlers old = std::move(handlers);
    handlers = StreamHandlers{};
  }

  void close_socket() {
    if (!plain && !secure) return;
    error_code ignored;
    socket().close(ignored);  // no close handshake: pending operations abort
  }

  void fail(StreamFailure failure, const std::string& detail, const TlsPeerInfo* info) {
    if (state == State::closed) return clear_handlers_when_idle();  // closed by a handler
    state = State::closed;
    close_socket();
    dispatch(handlers.on_failed, failure, std::string_view(detail), info);
    clear_handlers_when_idle();
  }

  // Failures found before any operation started are reported from the event loop, never
  // from inside connect().
  void fail_later(const Self& self, StreamFailure failure, std::string detail) {
    asio::post(
        io, [self, this, failure, detail = std::move(detail)] { fail(failure, detail, nullptr); });
  }

  void start(const Self& self) {
    state = State::connecting;
    if (options.transport == Transport::wss) {
      if (!options.tls) {
        return fail_later(self, StreamFailure::tls, "no TLS context for a wss connection");
      }
      secure.emplace(io, options.tls->ssl);
    } else {
      plain.emplace(io);
    }
    if (std::string error = open_stream_socket(socket(), options); !error.empty()) {
      close_socket();
      return fail_later(self, StreamFailure::connect, std::move(error));
    }
    socket().async_connect(options.remote, [self, this](const error_code& e) {
      if (state == State::closed) return;
      if (e) return fail(StreamFailure::connect, "connect: " + e.message(), nullptr);
      if (secure) return tls_handshake(self);
      upgrade(self);
    });
  }

  void tls_handshake(const Self& self) {
    state = State::handshaking;
    auto& tls = secure->next_layer();
    prepare_tls_client(tls.native_handle(), *options.tls, options.tls_name,
                       options.remote.address());
    // Per connection: the chain's expiry is recorded even when verification fails.
    tls.set_verify_callback(
        [this, verify = options.tls->verify](bool preverified, asio::ssl::verify_context& vc) {
          return note_verification(peer, verify, preverified, vc);
        });
    tls.async_handshake(asio::ssl::stream_base::client, [self, this](const error_code& e) {
      if (state == State::closed) return;
      if (e) return fail(StreamFailure::tls, tls_failure_text(e, peer), &peer);
      note_handshake(secure->next_layer().native_handle(), peer);
      upgrade(self);
    });
  }

  // The HTTP upgrade (RFC 6455 4.1) asking for the sip subprotocol (RFC 7118 4.1).
  void upgrade(const Self& self) {
    state = State::upgrading;
    with_ws([&](auto& ws) {
      ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
        req.set(http::field::sec_websocket_protocol, kSubprotocol);
      }));
      ws.read_message_max(kMaxSipMessageSize);
      ws.auto_fragment(false);  // one frame per message: some servers refuse fragments
      ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
        if (kind == websocket::frame_type::pong && state == State::ready) {
          dispatch(handlers.on_pong, clock.now());
        }
      });
      ws.async_handshake(response, options.ws_host, options.ws_path,
                         [self, this](const error_code& e) { on_upgraded(self, e); });
    });
  }

  void on_upgraded(const Self& self, const error_code& e) {
    if (state == State::closed) return;
    const TlsPeerInfo* info = secure ? &peer : nullptr;
    if (e) {
      if (std::string refused = upgrade_error_text(e, response); !refused.empty()) {
        return fail(StreamFailure::websocket, refused, info);
      }
      // With TLS 1.3 a server rejects a missing client certificate after the handshake.
      if (is_tls_error(e)) return fail(StreamFailure::tls, e.message(), info);
      return fail(StreamFailure::reset, closed_during_upgrade(e), info);
    }
    if (!selected_sip(response)) {
      return fail(StreamFailure::websocket,
                  "WebSocket handshake: server did not select subprotocol sip", info);
    }
    response = {};
    with_ws([](auto& ws) { ws.text(true); });  // SIP is UTF-8 text (RFC 7118 5.1)
    state = State::ready;
    read(self);
    dispatch(handlers.on_ready, info);
    if (state == State::closed) clear_handlers_when_idle();
  }

  void read(const Self& self) {
    with_ws([&](auto& ws) {
      ws.async_read(read_buffer,
                    [self, this](const error_code& e, std::size_t) { on_read(self, e); });
    });
  }

  void on_read(const Self& self, const error_code& e) {
    if (state == State::closed) return;
    if (e) return fail_read(e);
    const TimePoint received = clock.now();
    const auto data = read_buffer.cdata();
    dispatch(handlers.on_message,
             std::string_view(static_cast<const char*>(data.data()), data.size()), received);
    if (state == State::closed) return clear_handlers_when_idle();
    read_buffer.consume(read_buffer.size());
    read(self);
  }

  void fail_read(const error_code& e) {
    if (e == websocket::error::message_too_big) {
      dispatch(handlers.on_invalid, std::string_view("too_large"));
      return fail(StreamFailure::reset,
                  "WebSocket message over " + std::to_string(kMaxSipMessageSize) + " bytes",
                  nullptr);
    }
    if (e == websocket::error::closed) {
      std::string detail = "WebSocket closed by peer";
      with_ws([&](auto& ws) {
        if (ws.reason().code != websocket::close_code::none) {
          detail += " (code " + std::to_string(ws.reason().code) + ")";
        }
      });
      return fail(StreamFailure::reset, detail, nullptr);
    }
    if (is_tls_error(e)) return fail(StreamFailure::tls, e.message(), &peer);
    fail(StreamFailure::reset, read_error_text(e), nullptr);
  }

  void write(const Self& self) {
    writing = true;
    inflight.swap(pending);
    inflight_sizes.swap(pending_sizes);
    inflight_next = 0;
    inflight_offset = 0;
    write_next(self);
  }

  void write_next(const Self& self) {
    if (inflight_next == inflight_sizes.size()) {
      writing = false;
      inflight.clear();
      inflight_sizes.clear();
      if (!pending_sizes.empty()) write(self);
      return;
    }
    const auto buffer =
        asio::buffer(inflight.data() + inflight_offset, inflight_sizes[inflight_next]);
    with_ws([&](auto& ws) {
      ws.async_write(buffer, [self, this](const error_code& e, std::size_t) {
        if (state == State::closed) {
          writing = false;
          return;
        }
        if (e) return fail(StreamFailure::reset, "write: " + e.message(), nullptr);
        inflight_offset += inflight_sizes[inflight_next++];
        write_next(self);
      });
    });
  }

  void ping(const Self& self) {
    pinging = true;
    with_ws([&](auto& ws) {
      ws.async_ping({}, [self, this](const error_code& e) {
        pinging = false;
        if (state == State::closed) return;
        if (e) fail(StreamFailure::reset, "ping: " + e.message(), nullptr);
      });
    });
  }
};

std::shared_ptr<WsConnection> WsConnection::create(asio::io_context& io, Clock& clock,
                                                   StreamOptions options, StreamHandlers handlers) {
  return std::shared_ptr<WsConnection>(
      new WsConnection(std::make_unique<Impl>(io, clock, std::move(options), std::move(handlers))));
}

WsConnection::WsConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WsConnection::~WsConnection() {
  if (impl_) impl_->close_socket();
}

void WsConnection::connect() {
  if (impl_->state != State::idle) return;
  impl_->start(shared_from_this());
}

bool WsConnection::ready() const { return impl_->state == State::ready; }

bool WsConnection::mid_message() const { return false; }

std::optional<tcp::endpoint> WsConnection::local_endpoint() const {
  Impl& m = *impl_;
  if (!m.plain && !m.secure) return std::nullopt;
  if (!m.socket().is_open()) return std::nullopt;
  error_code ec;
  auto ep = m.socket().local_endpoint(ec);
  if (ec || ep.port() == 0) return std::nullopt;
  return ep;
}

void WsConnection::send(std::string_view data) {
  Impl& m = *impl_;
  if (m.state != State::ready) return;
  m.pending.append(data);
  m.pending_sizes.push_back(data.size());
  if (!m.writing) m.write(shared_from_this());
}

void WsConnection::send_ping() {
  Impl& m = *impl_;
  if (m.state != State::ready || m.pinging) return;
  m.ping(shared_from_this());
}

void WsConnection::close() {
  Impl& m = *impl_;
  if (m.state == State::closed) return;
  m.state = State::closed;
  m.close_socket();
  m.clear_handlers_when_idle();  // last: it may release what owns this connection
}

}  // namespace stx
