#include "exporter/app.h"

#include <malloc.h>  // malloc_trim (glibc)
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <random>

#include "config/sharding.h"
#include "exporter/probe_endpoint.h"
#include "exporter/web_config.h"
#include "exporter/web_security.h"
#include "version.h"

namespace stx {
namespace {

void log_web_security(Logger& log, std::string_view msg, const std::string& file,
                      const WebSecurity& web) {
  const auto& tls = web.config.tls;
  log.log(LogLevel::info, msg,
          {{"file", file},
           {"tls", tls ? std::string(tls_version_name(tls->min_version)) + "+" : "off"},
           {"client_auth", tls ? std::string(client_auth_name(tls->client_auth)) : "-"},
           {"basic_auth_users", std::to_string(web.config.basic_auth_users.size())}});
}

std::uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

WebResponse text(int status, std::string body) {
  WebResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// Keeps the targets this replica owns: every replica reads the whole file, so a target of
// another shard must leave no series, probe or status row here.
void keep_share(Config& config, const Shard& shard, Logger& log) {
  const std::size_t all = config.targets.size();
  keep_owned(config.targets, shard);
  log.log(LogLevel::info,
          "shard " + std::to_string(shard.index) + " of " + std::to_string(shard.count) +
              " (replicas " + std::to_string(shard.replicas) + "): " +
              std::to_string(config.targets.size()) + " of " + std::to_string(all) + " targets");
}

}  // namespace

App::App(const Flags& flags, Logger& log) : flags_(flags), log_(log) {}

App::~App() {
  if (http_) http_->stop();
}

WebRoutes App::routes() {
  WebRoutes r;
  r.paths = {flags_.route_prefix, flags_.external_path, flags_.telemetry_path};
  r.metrics = [this] { return metrics_->scrape(); };
  r.metrics_protobuf = [this] { return metrics_->scrape_protobuf(); };
  r.status = [this] {
    StatusSnapshot s = board_.snapshot(unix_now());
    const Shard& shard = flags_.shard;
    if (shard.count > 1) s.shard = std::to_string(shard.index) + "/" + std::to_string(shard.count);
    return s;
  };
  r.status_of = [this](std::string_view name) { return board_.snapshot_of(name, unix_now()); };
  r.ready = [this] { return ready_.load(); };
  r.probe = [this](const ProbeRequest& req, const Respond& respond) {
    auto gated = probe_gate_.enter(respond);
    if (!gated) {
      respond(too_many_probes(probe_gate_.limit()));
      return;
    }
    boost::asio::post(io_, [this, req, respond = std::move(*gated)]() mutable {
      run_probe_request(*engine_, *config_, req, std::move(respond));
    });
  };
  r.reload = [this](Respond respond) {
    boost::asio::post(io_, [this, respond = std::move(respond)] {
      const std::string error = reload();
      respond(error.empty() ? text(200, "Reloaded.\n")
                            : text(500, "failed to reload config: " + error + "\n"));
    });
  };
  return r;
}

std::string App::reload() {
  Config next;
  try {
    next = load_config_file(flags_.config_file);
  } catch (const ConfigError& e) {
    log_.log(LogLevel::error, "reload failed, the running configuration stays",
             {{"err", e.what()}});
    metrics_->config_reloaded(false, unix_now());
    return e.what();
  }
  for (const auto& w : next.warnings) log_.log(LogLevel::warn, "configuration", {{"warning", w}});
  keep_share(next, flags_.shard, log_);
  if (next.exporter.rtt_buckets != config_->exporter.rtt_buckets) {
    // Histograms cannot change buckets in place: every target's series start over.
    engine_->reload(std::make_shared<const std::vector<TargetConfig>>());
    metrics_->set_rtt_buckets(next.exporter.rtt_buckets);
  }
  if (next.exporter.dns != config_->exporter.dns) engine_->set_dns(next.exporter.dns);
  metrics_->set_zero_series(next.exporter.zero_series);  // counts go on either way
  config_ = std::make_shared<const Config>(std::move(next));
  engine_->reload(Engine::TargetList(config_, &config_->targets));
  // Parsing held the whole file as a TOML tree, and the old configuration is gone now: hand
  // the freed pages back, or glibc keeps them and a large fleet grows with every reload.
  malloc_trim(0);
  metrics_->config_reloaded(true, unix_now());
  log_.log(LogLevel::info, "configuration reloaded",
           {{"config", flags_.config_file}, {"targets", std::to_string(config_->targets.size())}});
  return {};
}

void App::wait_for_signals() {
  signals_->async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      reload();
      wait_for_signals();
      return;
    }
    log_.log(LogLevel::info, "stopping", {{"signal", signo == SIGINT ? "SIGINT" : "SIGTERM"}});
    ready_ = false;
    engine_->stop();
    io_.stop();
  });
}

int App::run() {
  try {
    config_ = std::make_shared<const Config>(load_config_file(flags_.config_file));
  } catch (const ConfigError& e) {
    log_.log(LogLevel::error, "invalid configuration", {{"err", e.what()}});
    return 1;
  }
  for (const auto& w : config_->warnings) {
    log_.log(LogLevel::warn, "configuration", {{"warning", w}});
  }
  WebSecurity web;
  web.auth = std::make_shared<const BasicAuth>();
  if (!flags_.web_config_file.empty()) {
    try {
      web = load_web_security(flags_.web_config_file);
      for (const auto& w : web.config.warnings) {
        log_.log(LogLevel::warn, "web configuration", {{"warning", w}});
      }
      log_web_security(log_, "web configuration loaded", flags_.web_config_file, web);
      web_watch_ = std::make_unique<WebSecurityWatch>(flags_.web_config_file, web.config);
    } catch (const WebConfigError& e) {
      log_.log(LogLevel::error, "invalid web configuration",
               {{"file", flags_.web_config_file}, {"err", e.what()}});
      return 1;
    }
  }
  if (flags_.config_check) {
    std::cout << flags_.config_file << ": OK, " << config_->targets.size() << " target(s), "
              << config_->modules.size() << " module(s)\n";
    return 0;
  }
  Config mine = *config_;
  keep_share(mine, flags_.shard, log_);
  config_ = std::make_shared<const Config>(std::move(mine));

  metrics_ = std::make_unique<Metrics>(*config_, flags_.shard);
  reporter_ = std::make_unique<Reporter>(*metrics_, board_, log_);
  engine_ = std::make_unique<Engine>(io_, *reporter_, random_seed(), config_->exporter.dns);
  http_ = std::make_unique<HttpServer>(routes(), log_);
  http_->secure(std::move(web.tls), std::move(web.auth));
  if (web_watch_) http_->on_accept([this] { reload_web_security(); });
  try {
    for (const std::string& address : flags_.listen_addresses) {
      std::string error;
      const auto listen = parse_listen_address(address, &error);
      http_->listen(listen->host, listen->port);
    }
  } catch (const std::exception& e) {
    log_.log(LogLevel::error, "cannot serve HTTP", {{"err", e.what()}});
    return 1;
  }

  signals_ = std::make_unique<boost::asio::signal_set>(io_, SIGINT, SIGTERM, SIGHUP);
  wait_for_signals();
  http_->start();
  engine_->start(Engine::TargetList(config_, &config_->targets));
  metrics_->config_reloaded(true, unix_now());
  ready_ = true;
  std::string listen;
  for (const auto& a : flags_.listen_addresses) listen += (listen.empty() ? "" : ",") + a;
  log_.log(LogLevel::info, "started",
           {{"version", kVersion},
            {"revision", kRevision},
            {"config", flags_.config_file},
            {"targets", std::to_string(config_->targets.size())},
            {"listen", listen}});
  io_.run();
  http_->stop();
  log_.log(LogLevel::info, "stopped");
  return 0;
}

void App::reload_web_security() {
  if (!web_watch_->changed()) return;
  try {
    WebSecurity web = load_web_security(flags_.web_config_file);
    web_watch_->loaded(web.config);
    log_web_security(log_, "web configuration reloaded", flags_.web_config_file, web);
    http_->secure(std::move(web.tls), std::move(web.auth));
  } catch (const WebConfigError& e) {
    log_.log(LogLevel::error, "invalid web configuration; keeping the previous one",
             {{"file", flags_.web_config_file}, {"err", e.what()}});
  }
}

}  // namespace stx
