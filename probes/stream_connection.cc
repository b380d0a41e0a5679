#include "probes/stream_connection.h"

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "probes/stream_framer.h"
#include "probes/stream_socket.h"
#include "probes/tls_handshake.h"

namespace stx {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::string_view kPing = "\r\n\r\n";

enum class State : std::uint8_t { idle, connecting, handshaking, ready, closed };

}  // namespace

struct StreamConnection::Impl {
  using Self = std::shared_ptr<StreamConnection>;

  Impl(asio::io_context& io, Clock& clock, StreamOptions o, Handlers h)
      : io(io), clock(clock), options(std::move(o)), handlers(std::move(h)), socket(io) {}

  asio::io_context& io;
  Clock& clock;
  StreamOptions options;
  Handlers handlers;
  tcp::socket socket;
  // Declared after the socket it refers to, so destroyed before it.
  std::optional<asio::ssl::stream<tcp::socket&>> tls;
  State state = State::idle;
  int dispatching = 0;  // handler calls in progress; handlers are cleared when it is 0
  StreamFramer framer;
  std::array<char, kReadChunk> read_buffer{};
  std::string pending;   // queued by send()
  std::string inflight;  // being written; the two swap, so neither reallocates once warm
  bool writing = false;
  TlsPeerInfo peer;  // what the verify callback saw, completed after the handshake

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
    Handlers old = std::move(handlers);
    handlers = Handlers{};
  }

  void close_socket() {
    error_code ignored;
    socket.close(ignored);  // TLS too: no close_notify exchange, pending operations abort
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
    if (std::string error = open_stream_socket(socket, options); !error.empty()) {
      close_socket();
      return fail_later(self, StreamFailure::connect, std::move(error));
    }
    if (options.transport == Transport::tls && !options.tls) {
      return fail_later(self, StreamFailure::tls, "no TLS context for a tls connection");
    }
    socket.async_connect(options.remote, [self, this](const error_code& e) {
      if (state == State::closed) return;
      if (e) return fail(StreamFailure::connect, "connect: " + e.message(), nullptr);
      if (options.transport == Transport::tls) return handshake(self);
      become_ready(self, nullptr);
    });
  }

  void handshake(const Self& self) {
    state = State::handshaking;
    tls.emplace(socket, options.tls->ssl);
    prepare_tls_client(tls->native_handle(), *options.tls, options.tls_name,
                       options.remote.address());
    // Per connection: the chain's expiry is recorded even when verification fails.
    tls->set_verify_callback(
        [this, verify = options.tls->verify](bool preverified, asio::ssl::verify_context& vc) {
          return note_verification(peer, verify, preverified, vc);
        });
    tls->async_handshake(asio::ssl::stream_base::client, [self, this](const error_code& e) {
      if (state == State::closed) return;
      if (e) return fail(StreamFailure::tls, tls_failure_text(e, peer), &peer);
      note_handshake(tls->native_handle(), peer);
      become_ready(self, &peer);
    });
  }

  void become_ready(const Self& self, const TlsPeerInfo* info) {
    state = State::ready;
    read(self);
    dispatch(handlers.on_ready, info);
    if (state == State::closed) clear_handlers_when_idle();
  }

  void read(const Self& self) {
    auto done = [self, this](const error_code& e, std::size_t n) { on_read(self, e, n); };
    if (tls) {
      tls->async_read_some(asio::buffer(read_buffer), std::move(done));
    } else {
      socket.async_read_some(asio::buffer(read_buffer), std::move(done));
    }
  }

  void on_read(const Self& self, const error_code& e, std::size_t n) {
    if (state == State::closed) return;
    if (e) {
      // A TLS alert after our side finished the handshake is still a TLS failure: with
      // TLS 1.3 a server rejects a missing client certificate this way.
      if (tls && e.category() == asio::error::get_ssl_category()) {
        return fail(StreamFailure::tls, e.message(), &peer);
      }
      return fail(StreamFailure::reset, read_error_text(e), nullptr);
    }
    const TimePoint received = clock.now();
    framer.append(std::string_view(read_buffer.data(), n));
    for (;;) {
      const FrameEvent ev = framer.next();
      if (ev.kind == FrameKind::need_more) break;
      if (ev.kind == FrameKind::message) {
        dispatch(handlers.on_message, ev.message, received);
      } else if (ev.kind == FrameKind::pong) {
        dispatch(handlers.on_pong, received);
      } else {
        const std::string_view why = to_string(ev.error);
        dispatch(handlers.on_invalid, why);
        return fail(StreamFailure::reset, "unframeable stream: " + std::string(why), nullptr);
      }
      if (state == State::closed) return clear_handlers_when_idle();
    }
    read(self);
  }

  void write(const Self& self) {
    writing = true;
    inflight.swap(pending);
    auto done = [self, this](const error_code& e, std::size_t) {
      writing = false;
      if (state == State::closed) return;
      if (e) return fail(StreamFailure::reset, "write: " + e.message(), nullptr);
      inflight.clear();
      if (!pending.empty()) write(self);
    };
    if (tls) {
      asio::async_write(*tls, asio::buffer(inflight), std::move(done));
    } else {
      asio::async_write(socket, asio::buffer(inflight), std::move(done));
    }
  }
};

std::shared_ptr<StreamConnection> StreamConnection::create(asio::io_context& io, Clock& clock,
                                                           StreamOptions options,
                                                           Handlers handlers) {
  return std::shared_ptr<StreamConnection>(new StreamConnection(
      std::make_unique<Impl>(io, clock, std::move(options), std::move(handlers))));
}

StreamConnection::StreamConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StreamConnection::~StreamConnection() {
  if (impl_) impl_->close_socket();
}

void StreamConnection::connect() {
  if (impl_->state != State::idle) return;
  impl_->start(shared_from_this());
}

bool StreamConnection::ready() const { return impl_->state == State::ready; }

bool StreamConnection::mid_message() const { return impl_->framer.buffered() > 0; }

std::optional<tcp::endpoint> StreamConnection::local_endpoint() const {
  if (!impl_->socket.is_open()) return std::nullopt;
  error_code ec;
  auto ep = impl_->socket.local_endpoint(ec);
  if (ec || ep.port() == 0) return std::nullopt;
  return ep;
}

void StreamConnection::send(std::string_view data) {
  Impl& m = *impl_;
  if (m.state != State::ready) return;
  m.pending.append(data);
  if (!m.writing) m.write(shared_from_this());
}

void StreamConnection::send_ping() { send(kPing); }

void StreamConnection::close() {
  Impl& m = *impl_;
  if (m.state == State::closed) return;
  m.state = State::closed;
  m.close_socket();
  m.clear_handlers_when_idle();  // last: it may release what owns this connection
}

}  // namespace stx
