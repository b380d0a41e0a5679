#include "exporter/http_server.h"

#include <openssl/crypto.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <charconv>
#include <stdexcept>
#include <string_view>
#include <type_traits>

#include "exporter/auth_gate.h"
#include "exporter/http_request_reader.h"
#include "exporter/web_config.h"

namespace stx {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

// A kept-alive connection may wait this long for its next request, and a response this long to
// be written; once a request's first byte is in, the whole request must follow within
// kRequestTimeout (a client trickling its headers is cut off then).
constexpr auto kIdleTimeout = std::chrono::seconds(30);
constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr std::size_t kReadBytes = 4096;
// After a refusal, what is read and dropped before the connection closes anyway.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 64 * 1024;
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
constexpr const char* kBasicChallenge = "Basic realm=\"sip_trunk_exporter\"";
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(2);

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// What --web.config.file asks of each session: `auth` null when basic auth is off.
struct Guard {
  // Shared with the server: a reload of --web.config.file swaps the server's, and sessions
  // opened before it go on with what they started with.
  std::shared_ptr<const BasicAuth> auth;
  std::shared_ptr<boost::asio::ssl::context> tls;
  boost::asio::thread_pool* auth_pool = nullptr;
  AuthGate* auth_gate = nullptr;  // io thread only
};

// One connection; Stream is PlainStream or TlsStream.
template <class Stream>
class Session : public HttpConnection, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  Session(Stream stream, const WebRoutes& routes, Logger& log, Guard guard)
      : stream_(std::move(stream)), routes_(routes), log_(log), guard_(std::move(guard)) {}

  bool handling() const override { return handling_; }
  bool closed() const override { return closed_; }
  void shed() override { close_socket(); }

  void run() {
    if constexpr (kTls) {
      handshake();
    } else {
      read();
    }
  }

 private:
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

  tcp::socket& socket() { return beast::get_lowest_layer(stream_).socket(); }

  void handshake() {
    beast::get_lowest_layer(stream_).expires_after(kHandshakeTimeout);
    stream_.async_handshake(boost::asio::ssl::stream_base::server, [self = shared_from_this()](
                                                                       beast::error_code ec) {
      if (!ec) {
        self->read();
        return;
      }
      // Scanners, plain HTTP, refused client certificates: routine.
      beast::error_code ignored;
      const auto peer = self->socket().remote_endpoint(ignored);
      self->log_.log(LogLevel::debug, "TLS handshake failed",
                     {{"remote", peer.address().to_string() + ":" + std::to_string(peer.port())},
                      {"err", ec.message()}});
      self->close_socket();
    });
  }

  void read() {
    reader_.reset();
    request_started_ = false;
    if (buffer_.size() > 0) {  // a pipelined request has begun already
      parse();
      return;
    }
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    read_some();
  }

  void read_some() {
    stream_.async_read_some(buffer_.prepare(kReadBytes),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) {
                                self->on_read_error(ec);
                                return;
                              }
                              self->buffer_.commit(n);
                              self->parse();
                            });
  }

  void parse() {
    if (!request_started_) {
      // Once a request's first byte is in, all of it must follow within kRequestTimeout.
      request_started_ = true;
      beast::get_lowest_layer(stream_).expires_after(kRequestTimeout);
    }
    switch (reader_.feed(buffer_)) {
      case HttpRequestReader::Status::need_more:
        read_some();
        return;
      case HttpRequestReader::Status::rejected:
        if (log_.enabled(LogLevel::debug)) {
          log_.log(LogLevel::debug, "HTTP request refused",
                   {{"remote", remote()},
                    {"status", std::to_string(reader_.reject_status())},
                    {"err", reader_.reject_reason()}});
        }
        reply_error(reader_.reject_status(), reader_.reject_reason());
        return;
      case HttpRequestReader::Status::done:
        on_request();
        return;
    }
  }

  void on_read_error(beast::error_code ec) {
    if (ec == boost::asio::error::eof || ec == beast::error::timeout ||
        ec == boost::asio::error::operation_aborted || ec == boost::asio::error::connection_reset) {
      close();
      return;
    }
    // TLS errors and the like: the session is broken, no answer can reach the client.
    close_socket();
  }

  std::string remote() {
    beast::error_code ignored;
    const auto peer = socket().remote_endpoint(ignored);
    return peer.address().to_string() + ":" + std::to_string(peer.port());
  }

  void on_request() {
    if (guard_.auth == nullptr) {
      dispatch();
      return;
    }
    const auto field = reader_.request()[http::field::authorization];
    const std::string_view authorization(field.data(), field.size());
    // Cached credentials and malformed headers are settled here, never behind a bcrypt.
    if (const auto quick = guard_.auth->quick_check(authorization)) {
      if (*quick) {
        dispatch();
      } else {
        unauthorized();
      }
      return;
    }
    beast::error_code ignored;
    auto client = socket().remote_endpoint(ignored).address();
    if (!guard_.auth_gate->enter(client)) {
      if (log_.enabled(LogLevel::debug)) {
        log_.log(LogLevel::debug, "basic auth check refused: too many waiting",
                 {{"remote", remote()}});
      }
      WebResponse r;
      r.status = 429;
      r.body = "429 too many authentication attempts in progress, retry later\n";
      const auto& req = reader_.request();
      write(std::move(r), req.keep_alive(), req.method() == http::verb::head, req.version());
      return;
    }
    // The executor is taken here, on the HTTP thread; the pool thread only posts to it.
    auto job = [self = shared_from_this(), ex = stream_.get_executor(),
                value = std::string(authorization), client]() mutable {
      // A connection shed meanwhile costs no bcrypt. Nothing may escape into the pool's
      // thread, where it would end the process: a check that cannot finish denies.
      bool ok = false;
      try {
        ok = !self->closed_ && self->guard_.auth->check(value);
      } catch (const std::exception&) {
        ok = false;
      }
      OPENSSL_cleanse(value.data(), value.size());
      // The session moves on, so its last reference never drops on the pool thread.
      boost::asio::post(ex, [self = std::move(self), ok, client] {
        self->guard_.auth_gate->leave(client);
        if (ok) {
          self->dispatch();
        } else {
          self->unauthorized();
        }
      });
    };
    boost::asio::post(*guard_.auth_pool, std::move(job));
  }

  // As exporter-toolkit: every path, and no hint of what was wrong.
  void unauthorized() {
    const auto& req = reader_.request();
    WebResponse r;
    r.status = 401;
    r.body = "Unauthorized\n";
    write(std::move(r), req.keep_alive(), req.method() == http::verb::head, req.version());
  }

  void dispatch() {
    handling_ = true;  // until the answer is written: /probe and reloads take a while
    const auto& req = reader_.request();
    const WebRequest wr = to_web_request(reader_);
    const bool keep_alive = req.keep_alive();
    const bool head = req.method() == http::verb::head;
    const unsigned version = req.version();
    // Some answers come later from the engine's thread: hop back to this stream's executor.
    Respond respond = [self = shared_from_this(), keep_alive, head, version](WebResponse r) {
      boost::asio::post(self->stream_.get_executor(),
                        [self, r = std::move(r), keep_alive, head, version]() mutable {
                          self->write(std::move(r), keep_alive, head, version);
                        });
    };
    try {
      handle_web_request(wr, routes_, respond);
    } catch (const std::exception& e) {
      log_.log(LogLevel::error, "request failed",
               {{"path", std::string(wr.target)}, {"err", e.what()}});
      respond(WebResponse{
          500, "text/plain; charset=utf-8", "", "500 internal server error\n", "", "", {}});
    }
  }

  void reply_error(int status, const std::string& why) {
    WebResponse r;
    r.status = status;
    r.body = std::to_string(status) + " " + why + "\n";
    linger_ = true;  // the client may still be sending the rest of what was refused
    write(std::move(r), false, false, 11);
  }

  void write(WebResponse r, bool keep_alive, bool head, unsigned version) {
    handling_ = false;
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version);
    res->set(http::field::server, "sip_trunk_exporter");
    // Bodies echo query values (/target?name=): no browser may guess them to be HTML.
    res->set("X-Content-Type-Options", "nosniff");
    if (r.status == 401) res->set(http::field::www_authenticate, kBasicChallenge);
    if (r.status == 429) res->set(http::field::retry_after, "1");
    res->set(http::field::content_type, r.content_type);
    if (!r.content_encoding.empty()) {
      res->set(http::field::content_encoding, r.content_encoding);
      res->set(http::field::vary, "Accept-Encoding");
    }
    if (!r.allow.empty()) res->set(http::field::allow, r.allow);
    if (!r.location.empty()) res->set(http::field::location, r.location);
    res->keep_alive(keep_alive);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    if (r.stream) {
      write_streamed(res, std::move(r.stream), keep_alive, head);
      return;
    }
    const auto size = r.body.size();
    if (!head) res->body() = std::move(r.body);
    res->content_length(size);
    if (head) {
      auto sr = std::make_shared<http::response_serializer<http::string_body>>(*res);
      http::async_write_header(
          stream_, *sr,
          [self = shared_from_this(), res, sr, keep_alive](beast::error_code ec, std::size_t) {
            self->after_write(ec, keep_alive);
          });
      return;
    }
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
          self->after_write(ec, keep_alive);
        });
  }

  // A body written as it is produced: the header, then one piece at a time, the next asked
  // for only once the last has been written, so a slow reader holds back the producer and at
  // most one piece waits in memory. The deadline set before the header covers the whole
  // response, as it does for a body written at once.
  void write_streamed(const std::shared_ptr<http::response<http::string_body>>& res,
                      std::shared_ptr<BodySource> body, bool keep_alive, bool head) {
    // HTTP/1.0 has no chunked encoding: the body ends where the connection does.
    const bool chunked = res->version() >= 11;
    if (chunked) {
      res->chunked(true);
    } else {
      res->keep_alive(false);
      keep_alive = false;
    }
    auto sr = std::make_shared<http::response_serializer<http::string_body>>(*res);
    http::async_write_header(stream_, *sr,
                             [self = shared_from_this(), res, sr, body = std::move(body),
                              keep_alive, head, chunked](beast::error_code ec, std::size_t) {
                               if (ec || head) {
                                 self->after_write(ec, keep_alive);
                                 return;
                               }
                               self->write_piece(body, keep_alive, chunked);
                             });
  }

  void write_piece(const std::shared_ptr<BodySource>& body, bool keep_alive, bool chunked) {
    std::string_view piece;
    try {
      piece = body->next();
    } catch (const std::exception& e) {
      // The status line is out: all that can tell the client is an incomplete body.
      log_.log(LogLevel::error, "response body failed", {{"err", e.what()}});
      close_socket();
      return;
    }
    if (piece.empty() && !chunked) {
      after_write({}, false);
      return;
    }
    chunk_head_.clear();
    if (chunked) {
      // Chunk size in hex, CRLF, the data, CRLF; the last chunk is "0" CRLF and (no
      // trailers) CRLF.
      char hex[2 * sizeof(std::size_t)];
      const auto r = std::to_chars(hex, hex + sizeof hex, piece.size(), 16);
      chunk_head_.assign(hex, r.ptr);
      chunk_head_ += "\r\n";
    }
    const bool last = piece.empty();
    const std::array<boost::asio::const_buffer, 3> buffers{
        boost::asio::buffer(chunk_head_), boost::asio::buffer(piece.data(), piece.size()),
        boost::asio::buffer(chunked ? std::string_view("\r\n") : std::string_view())};
    boost::asio::async_write(stream_, buffers,
                             [self = shared_from_this(), body, keep_alive, chunked, last](
                                 beast::error_code ec, std::size_t) {
                               if (ec || last) {
                                 self->after_write(ec, keep_alive);
                                 return;
                               }
                               self->write_piece(body, keep_alive, chunked);
                             });
  }

  void after_write(beast::error_code ec, bool keep_alive) {
    if (!ec && linger_) {
      linger_close();
      return;
    }
    if (ec || !keep_alive) {
      close();
      return;
    }
    read();
  }

  // RFC 9112 9.6: after refusing a request, half-close and read what the client still sends
  // for a while. Closing with unread bytes makes the kernel send a reset, which can destroy
  // the answer before the client has read it.
  void linger_close() {
    if constexpr (kTls) {
      close();  // close_notify, whose wait reads the client's data as well
    } else {
      beast::error_code ignored;
      socket().shutdown(tcp::socket::shutdown_send, ignored);
      beast::get_lowest_layer(stream_).expires_after(kLingerTimeout);
      drain();
    }
  }

  void drain() {
    stream_.async_read_some(buffer_.prepare(kReadBytes),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->lingered_ += n;
                              self->buffer_.consume(self->buffer_.size());
                              if (ec || self->lingered_ > kLingerBytes) {
                                self->close_socket();
                                return;
                              }
                              self->drain();
                            });
  }

  void close() {
    if constexpr (kTls) {
      // close_notify first, briefly: a client that does not answer it is not waited for.
      beast::get_lowest_layer(stream_).expires_after(kTlsShutdownTimeout);
      stream_.async_shutdown(
          [self = shared_from_this()](beast::error_code) { self->close_socket(); });
    } else {
      close_socket();
    }
  }

  void close_socket() {
    closed_ = true;
    beast::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_send, ignored);
    socket().close(ignored);
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::string chunk_head_;  // a streamed body's current chunk-size line
  HttpRequestReader reader_;
  bool request_started_ = false;
  bool linger_ = false;       // refused: drain before closing
  std::size_t lingered_ = 0;  // bytes drained so far
  const WebRoutes& routes_;
  Logger& log_;
  Guard guard_;
  bool handling_ = false;
  std::atomic<bool> closed_{false};  // read by the basic auth thread too
};

// Half the descriptors the process may open, within [16, 1024]: the rest stay for probes.
std::size_t connection_limit() {
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur == RLIM_INFINITY) {
    return kMaxConnections;
  }
  return std::clamp<std::size_t>(static_cast<std::size_t>(nofile.rlim_cur / 2), 16,
                                 kMaxConnections);
}

}  // namespace

HttpServer::HttpServer(WebRoutes routes, Logger& log)
    : routes_(std::move(routes)), log_(log), max_connections_(connection_limit()) {}

bool HttpServer::make_room() {
  if (connections_.size() < max_connections_) return true;
  std::erase_if(connections_, [](const std::weak_ptr<HttpConnection>& w) {
    const auto c = w.lock();
    return !c || c->closed();
  });
  if (connections_.size() < max_connections_) return true;
  // The oldest connection not waiting for a /probe or reload answer makes way.
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    const auto c = it->lock();
    if (c && !c->handling()) {
      c->shed();
      connections_.erase(it);
      return true;
    }
  }
  return false;
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::secure(std::shared_ptr<boost::asio::ssl::context> tls,
                        std::shared_ptr<const BasicAuth> auth) {
  tls_ = std::move(tls);
  auth_ = auth && auth->enabled() ? std::move(auth) : nullptr;
  if (auth_ && !auth_pool_) {
    auth_pool_ = std::make_unique<boost::asio::thread_pool>(1);
    auth_gate_ = std::make_unique<AuthGate>(kMaxAuthWaiting, kMaxAuthWaitingPerClient);
  }
}

void HttpServer::listen(const std::string& host, std::uint16_t port) {
  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code ec;
  if (host.empty()) {
    endpoints.emplace_back(tcp::v6(), port);  // dual-stack where the kernel allows it
  } else {
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::numeric_service, ec);
    if (ec) {
      throw std::runtime_error("cannot resolve web listen address \"" + host +
                               "\": " + ec.message());
    }
    for (const auto& r : results) endpoints.push_back(r.endpoint());
  }
  const std::string where = (host.empty() ? std::string("*") : host) + ":" + std::to_string(port);
  auto try_bind = [&](const tcp::endpoint& ep) -> std::unique_ptr<tcp::acceptor> {
    auto a = std::make_unique<tcp::acceptor>(io_);
    a->open(ep.protocol(), ec);
    if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && ep.address().is_v6() && host.empty())
      a->set_option(boost::asio::ip::v6_only(false), ec);
    if (!ec) a->bind(ep, ec);
    if (!ec) a->listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec) return nullptr;
    return a;
  };
  for (const auto& ep : endpoints) {
    auto a = try_bind(ep);
    if (!a && host.empty()) a = try_bind(tcp::endpoint(tcp::v4(), port));  // no IPv6 here
    if (!a) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    acceptors_.push_back(std::move(a));
    break;  // the first usable address, as Go's net.Listen does
  }
  if (acceptors_.empty()) throw std::runtime_error("cannot listen on " + where);
}

void HttpServer::accept(tcp::acceptor& a) {
  a.async_accept([this, &a](boost::system::error_code ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !a.is_open()) return;
    if (!ec) {
      if (!make_room()) {
        boost::system::error_code ignored;
        socket.close(ignored);  // every slot is busy with a request: refuse this one
        accept(a);
        return;
      }
      if (on_accept_) on_accept_();  // may reload the web config (secure())
      const Guard guard{auth_, tls_, auth_pool_.get(), auth_gate_.get()};
      std::shared_ptr<HttpConnection> session;
      if (tls_) {
        auto s = std::make_shared<Session<TlsStream>>(TlsStream(std::move(socket), *tls_), routes_,
                                                      log_, guard);
        s->run();
        session = std::move(s);
      } else {
        auto s = std::make_shared<Session<PlainStream>>(PlainStream(std::move(socket)), routes_,
                                                        log_, guard);
        s->run();
        session = std::move(s);
      }
      connections_.push_back(session);
      accept(a);
      return;
    }
    // Out of file descriptors and the like: pause instead of spinning on the error.
    log_.log(LogLevel::warn, "accept failed", {{"err", ec.message()}});
    auto pause = std::make_shared<boost::asio::steady_timer>(io_, kAcceptRetryDelay);
    pause->async_wait([this, &a, pause](const boost::system::error_code& wait_ec) {
      if (!wait_ec && a.is_open()) accept(a);
    });
  });
}

void HttpServer::start() {
  for (auto& a : acceptors_) accept(*a);
  thread_ = std::thread([this] {
    // Last line of defence: sessions catch what they can foresee; anything else that escapes
    // a handler ends that handler's connection (its state unwinds), never the process.
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        log_.log(LogLevel::error, "HTTP handler failed, its connection is closed",
                 {{"err", e.what()}});
      } catch (...) {
        log_.log(LogLevel::error, "HTTP handler failed, its connection is closed");
      }
    }
  });
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  boost::asio::post(io_, [this] {
    for (auto& a : acceptors_) {
      boost::system::error_code ignored;
      a->close(ignored);
    }
    io_.stop();
  });
  thread_.join();
}

}  // namespace stx
