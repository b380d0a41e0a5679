#pragma once
// A small HTTP/1.1 server (Boost.Beast) on its own thread and io_context, so a slow scrape
// never delays a probe. Bounded: header and body size, idle and request-read time, and the
// number of connections (the oldest idle one makes way for a new one).
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "exporter/log.h"
#include "exporter/web.h"

namespace boost::asio::ssl {
class context;
}

namespace stx {

class AuthGate;
class BasicAuth;

// At most this many connections are open at once (fewer when RLIMIT_NOFILE is low).
inline constexpr std::size_t kMaxConnections = 1024;
// Basic auth checks that need bcrypt (credentials not in the cache) waiting or running at
// once, in all and from one client address; past either a request gets 429 at once.
inline constexpr std::size_t kMaxAuthWaiting = 32;
inline constexpr std::size_t kMaxAuthWaitingPerClient = 4;

// What the server needs of a connection to shed it under a flood of connections.
class HttpConnection {
 public:
  virtual ~HttpConnection() = default;
  // A request is being answered (it may wait for a probe or a reload).
  virtual bool handling() const = 0;
  virtual bool closed() const = 0;
  virtual void shed() = 0;  // closes the socket now
};

class HttpServer {
 public:
  HttpServer(WebRoutes routes, Logger& log);
  ~HttpServer();

  // Binds `host:port` (host empty: every address). Throws std::runtime_error naming the
  // address and the reason when it cannot listen.
  void listen(const std::string& host, std::uint16_t port);
  // --web.config.file, before start(): every listener speaks TLS when `tls` is set, and every
  // request needs the right basic auth credentials when `auth` is enabled (401 otherwise).
  // Later, only from the on_accept hook: connections accepted from then on use the new
  // settings, open ones keep theirs.
  void secure(std::shared_ptr<boost::asio::ssl::context> tls,
              std::shared_ptr<const BasicAuth> auth);
  // Runs on the server's thread before each accepted connection gets its session.
  void on_accept(std::function<void()> hook) { on_accept_ = std::move(hook); }
  void start();  // runs the io_context on a thread
  void stop();   // closes listeners and sessions, joins the thread

 private:
  void accept(boost::asio::ip::tcp::acceptor& a);
  // Below the connection limit, if need be by closing the oldest connection that is not
  // handling a request; false when every connection is.
  bool make_room();

  WebRoutes routes_;
  Logger& log_;
  boost::asio::io_context io_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::thread thread_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::shared_ptr<const BasicAuth> auth_;
  std::function<void()> on_accept_;
  // bcrypt takes tens of milliseconds: checks run here, off the thread that serves requests.
  std::unique_ptr<boost::asio::thread_pool> auth_pool_;
  std::unique_ptr<AuthGate> auth_gate_;  // bounds what waits for auth_pool_
  std::size_t max_connections_;
  std::list<std::weak_ptr<HttpConnection>> connections_;  // oldest first; io thread only
};

}  // namespace stx
