#pragma once
// Wiring: loads the configuration, runs the probing engine on one io_context, serves HTTP on
// its own thread, reloads on SIGHUP or POST /-/reload, stops on SIGINT/SIGTERM.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <string>

#include "config/config.h"
#include "exporter/flags.h"
#include "exporter/http_server.h"
#include "exporter/log.h"
#include "exporter/metrics.h"
#include "exporter/probe_endpoint.h"
#include "exporter/reporter.h"
#include "exporter/status_board.h"
#include "probes/engine.h"

namespace stx {

class WebSecurityWatch;

class App {
 public:
  App(const Flags& flags, Logger& log);
  ~App();

  // Runs until a stop signal; returns the process exit code.
  int run();

 private:
  // Loads the configuration file again and applies it; on engine thread. Returns the error,
  // empty on success. A bad file changes nothing.
  std::string reload();
  WebRoutes routes();
  void wait_for_signals();
  // On the HTTP thread, before a connection is served: reloads --web.config.file when it or
  // a file it names changed; a broken one keeps the previous settings.
  void reload_web_security();

  const Flags& flags_;
  Logger& log_;
  std::shared_ptr<const Config> config_;  // touched only on the engine thread
  boost::asio::io_context io_;
  std::unique_ptr<Metrics> metrics_;
  StatusBoard board_;
  std::unique_ptr<Reporter> reporter_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<WebSecurityWatch> web_watch_;  // with --web.config.file
  std::unique_ptr<boost::asio::signal_set> signals_;
  std::atomic<bool> ready_{false};
  ProbeGate probe_gate_;
};

}  // namespace stx
