#pragma once
// A small HTTP/1.1 server (Boost.Beast) on its own thread and io_context, so a slow scrape
// never delays a probe. Bounded: request size, header size, idle time.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "exporter/log.h"
#include "exporter/web.h"

namespace stx {

class HttpServer {
 public:
  HttpServer(WebRoutes routes, Logger& log);
  ~HttpServer();

  // Binds `host:port` (host empty: every address). Throws std::runtime_error naming the
  // address and the reason when it cannot listen.
  void listen(const std::string& host, std::uint16_t port);
  void start();  // runs the io_context on a thread
  void stop();   // closes listeners and sessions, joins the thread

 private:
  void accept(boost::asio::ip::tcp::acceptor& a);

  WebRoutes routes_;
  Logger& log_;
  boost::asio::io_context io_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::thread thread_;
};

}  // namespace stx
