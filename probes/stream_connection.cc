#include "probes/stream_connection.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <ctime>

#include "probes/stream_framer.h"

namespace stx {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::string_view kPing = "\r\n\r\n";

enum class State : std::uint8_t { idle, connecting, handshaking, ready, closed };

// Probe connections leave the last descriptors (16, or a quarter of a smaller limit) to the
// web server, DNS and reloads: persistent flows to many targets would otherwise hold every
// one, and /metrics and the reload that could fix it would fail with EMFILE. Descriptors are
// handed out lowest first, so a socket's number tells how many are in use.
bool in_reserve(int fd) {
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur == RLIM_INFINITY) return false;
  const rlim_t reserve = std::min<rlim_t>(16, nofile.rlim_cur / 4);
  return static_cast<rlim_t>(fd) + reserve >= nofile.rlim_cur;
}

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

bool is_ip_literal(std::string_view name) {
  error_code ec;
  asio::ip::make_address(std::string(name), ec);
  return !ec;
}

bool peer_closed(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

std::string read_error_text(const error_code& ec) {
  if (ec == asio::error::eof) return "connection closed by peer";
  if (ec == asio::ssl::error::stream_truncated) {
    return "connection closed by peer (no TLS close_notify)";
  }
  if (ec == asio::error::connection_reset) return "connection reset by peer";
  return "read: " + ec.message();
}

std::string handshake_error_text(const error_code& ec) {
  if (peer_closed(ec)) return "connection closed during the TLS handshake";
  if (ec == asio::error::connection_reset) return "connection reset during the TLS handshake";
  return ec.message();
}

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
    error_code ec;
    socket.open(options.remote.protocol(), ec);
    if (ec) return fail_later(self, StreamFailure::connect, "socket: " + ec.message());
    if (in_reserve(socket.native_handle())) {
      close_socket();
      return fail_later(self, StreamFailure::connect,
                        "socket: Too many open files (the last ones are kept for HTTP, DNS "
                        "and reloads)");
    }
    if (options.local) {
      socket.set_option(tcp::socket::reuse_address(true), ec);
      if (!ec) socket.bind(*options.local, ec);
      if (ec) {
        const auto& l = *options.local;
        return fail_later(self, StreamFailure::connect,
                          "bind " + l.address().to_string() + ":" + std::to_string(l.port()) +
                              ": " + ec.message());
      }
    }
    socket.set_option(tcp::no_delay(true), ec);  // small requests must not wait for acks
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
    SSL* ssl = tls->native_handle();
    const bool verify = options.tls->verify;
    std::string name(strip_brackets(options.tls_name));
    if (name.empty()) name = options.remote.address().to_string();
    const bool ip = is_ip_literal(name);
    // RFC 6066 3: SNI carries DNS names only.
    if (!ip) SSL_set_tlsext_host_name(ssl, name.c_str());
    if (verify) {
      if (ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
      } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        SSL_set1_host(ssl, name.c_str());
      }
    }
    // Per connection: the chain's expiry is recorded even when verification fails.
    tls->set_verify_callback([this, verify](bool preverified, asio::ssl::verify_context& vc) {
      X509_STORE_CTX* store = vc.native_handle();
      note_expiry(peer, X509_STORE_CTX_get_current_cert(store));
      note_chain(peer, X509_STORE_CTX_get0_untrusted(store));
      if (!preverified && verify && peer.verify_error.empty()) {
        peer.verify_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
      }
      return preverified || !verify;
    });
    tls->async_handshake(asio::ssl::stream_base::client, [self, this](const error_code& e) {
      if (state == State::closed) return;
      if (e) {
        const std::string detail =
            peer.verify_error.empty() ? handshake_error_text(e) : peer.verify_error;
        return fail(StreamFailure::tls, detail, &peer);
      }
      SSL* s = tls->native_handle();
      peer.version = SSL_get_version(s);
      peer.cipher = SSL_get_cipher_name(s);
      X509* leaf = SSL_get1_peer_certificate(s);
      note_expiry(peer, leaf);
      X509_free(leaf);
      note_chain(peer, SSL_get_peer_cert_chain(s));
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
