// sip_trunk_exporter: probes SIP trunks with OPTIONS and serves Prometheus metrics.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>
#include <random>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "exporter/flags.h"
#include "exporter/http_server.h"
#include "exporter/log.h"
#include "exporter/metrics.h"
#include "exporter/reporter.h"
#include "probes/engine.h"
#include "version.h"

namespace {

std::uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

int run(const stx::Flags& flags, stx::Logger& log) {
  stx::Config config;
  try {
    config = stx::load_config_file(flags.config_file);
  } catch (const stx::ConfigError& e) {
    log.log(stx::LogLevel::error, "invalid configuration", {{"err", e.what()}});
    return 1;
  }
  for (const auto& w : config.warnings)
    log.log(stx::LogLevel::warn, "configuration", {{"warning", w}});
  if (flags.config_check) {
    std::cout << flags.config_file << ": OK, " << config.targets.size() << " target(s)\n";
    return 0;
  }

  std::string error;
  const auto listen = stx::parse_listen_address(flags.listen_address, &error);
  stx::Metrics metrics(config);
  stx::Reporter reporter(config, metrics, log);
  stx::HttpServer http(stx::WebRoutes{[&metrics] { return metrics.serialize(); }}, log);
  try {
    http.listen(listen->host, listen->port);
  } catch (const std::exception& e) {
    log.log(stx::LogLevel::error, "cannot serve HTTP", {{"err", e.what()}});
    return 1;
  }

  boost::asio::io_context io;
  stx::Engine engine(io, reporter, random_seed());
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    log.log(stx::LogLevel::info, "stopping", {{"signal", signo == SIGINT ? "SIGINT" : "SIGTERM"}});
    engine.stop();
    io.stop();
  });

  http.start();
  engine.start(config.targets);
  log.log(stx::LogLevel::info, "started",
          {{"version", stx::kVersion},
           {"revision", stx::kRevision},
           {"config", flags.config_file},
           {"targets", std::to_string(config.targets.size())},
           {"listen", flags.listen_address}});
  io.run();
  http.stop();
  log.log(stx::LogLevel::info, "stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string_view> args(argv + 1, argv + argc);
  stx::Flags flags;
  stx::Logger log;
  const std::string error = stx::parse_flags(args, flags);
  if (!error.empty()) {
    std::cerr << "sip_trunk_exporter: " << error << "\n\n" << stx::usage();
    return 2;
  }
  if (flags.help) {
    std::cout << stx::usage();
    return 0;
  }
  if (flags.version) {
    std::cout << "sip_trunk_exporter, version " << stx::kVersion << " (revision: " << stx::kRevision
              << ")\n";
    return 0;
  }
  log.set_level(*stx::parse_log_level(flags.log_level));
  try {
    return run(flags, log);
  } catch (const std::exception& e) {
    log.log(stx::LogLevel::error, "fatal", {{"err", e.what()}});
    return 1;
  }
}
