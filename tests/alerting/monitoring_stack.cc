#include "monitoring_stack.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

#include "alerting_files.h"
#include "tools.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace stx::alerting {
namespace {

json parse_body(const it::HttpResponse& r, std::string_view what) {
  try {
    return json::parse(r.body);
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string(what) + ": HTTP " + std::to_string(r.status) +
                             " with a body that is not JSON: " + r.body.substr(0, 500));
  }
}

json& at_existing(json& object, const std::string& key, std::string_view where) {
  if (!object.is_object() || !object.contains(key)) {
    throw std::runtime_error("alerts/alertmanager.yml has no " + std::string(where) + key +
                             ": the end-to-end test rewrites it (update the test with the example)");
  }
  return object[key];
}

}  // namespace

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::unique_ptr<it::Process> start_and_wait_ready(const std::string& name,
                                                  std::vector<std::string> argv,
                                                  const fs::path& dir, std::uint16_t port,
                                                  std::string_view ready_path) {
  auto p = std::make_unique<it::Process>(name, std::move(argv), dir);
  bool ready = it::wait_until(30s, [&] {
    if (!p->running()) return true;
    try {
      return it::http_get(port, ready_path, {}, 1s).status == 200;
    } catch (const std::exception&) {
      return false;
    }
  });
  if (!ready || !p->running()) {
    throw std::runtime_error(name + " did not become ready on 127.0.0.1:" + std::to_string(port) +
                             " within 30 s:\n" + p->describe());
  }
  return p;
}

// ---------------------------------------------------------------------------

PrometheusServer::PrometheusServer(const fs::path& dir, const Options& options) {
  auto prometheus = require_tool("prometheus");
  port_ = it::free_tcp_port();
  json config = {
      {"global",
       {{"scrape_interval", options.scrape_interval},
        {"scrape_timeout", options.scrape_timeout},
        {"evaluation_interval", options.evaluation_interval}}},
      {"rule_files", json::array({options.rules_file.string()})},
      {"scrape_configs",
       json::array({{{"job_name", "sip_trunk_exporter"},
                     {"static_configs",
                      json::array({{{"targets", json::array({"127.0.0.1:" + std::to_string(options.exporter_port)})}}})}}})},
  };
  if (!options.probe_targets.empty()) {
    config["scrape_configs"].push_back(
        {{"job_name", "sip_probe"},
         {"metrics_path", "/probe"},
         {"params", {{"module", json::array({options.probe_module})}}},
         {"static_configs", json::array({{{"targets", options.probe_targets}}})},
         {"relabel_configs",
          json::array(
              {{{"source_labels", json::array({"__address__"})},
                {"target_label", "__param_target"}},
               {{"source_labels", json::array({"__param_target"})}, {"target_label", "instance"}},
               {{"target_label", "__address__"},
                {"replacement", "127.0.0.1:" + std::to_string(options.exporter_port)}}})}});
  }
  if (options.alertmanager_port) {
    config["alerting"] = {
        {"alertmanagers",
         json::array({{{"static_configs",
                        json::array({{{"targets", json::array({"127.0.0.1:" + std::to_string(*options.alertmanager_port)})}}})}}})}};
  }
  fs::path config_file = dir / "prometheus.yml";
  it::write_file(config_file, config.dump(2));
  fs::create_directories(dir / "prometheus-data");
  std::vector<std::string> argv = {prometheus.string(), "--config.file=" + config_file.string(),
                                   "--storage.tsdb.path=" + (dir / "prometheus-data").string(),
                                   "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                   "--log.level=info"};
  argv.insert(argv.end(), options.extra_flags.begin(), options.extra_flags.end());
  process_ = start_and_wait_ready("prometheus", std::move(argv), dir, port_);
}

json PrometheusServer::api(std::string_view path_and_query) {
  auto r = it::http_get(port_, "/api/v1/" + std::string(path_and_query), {}, 10s);
  return parse_body(r, "Prometheus /api/v1/" + std::string(path_and_query));
}

json PrometheusServer::query(std::string_view promql) {
  json body = api("query?query=" + url_encode(promql));
  if (body.value("status", "") != "success") {
    throw std::runtime_error("Prometheus query failed: " + std::string(promql) + ": " + body.dump());
  }
  return body.at("data").at("result");
}

// ---------------------------------------------------------------------------

AlertmanagerServer::AlertmanagerServer(const fs::path& dir, const json& config) {
  auto alertmanager = require_tool("prometheus-alertmanager");
  port_ = it::free_tcp_port();
  fs::path config_file = dir / "alertmanager.yml";
  it::write_file(config_file, config.dump(2));
  fs::create_directories(dir / "alertmanager-data");
  process_ = start_and_wait_ready(
      "alertmanager",
      {alertmanager.string(), "--config.file=" + config_file.string(),
       "--storage.path=" + (dir / "alertmanager-data").string(),
       "--web.listen-address=127.0.0.1:" + std::to_string(port_),
       "--cluster.listen-address=",  // empty: no clustering, no gossip port
       "--log.level=debug"},
      dir, port_);
}

json AlertmanagerServer::alerts() {
  return parse_body(it::http_get(port_, "/api/v2/alerts", {}, 10s), "Alertmanager /api/v2/alerts");
}

void AlertmanagerServer::post_alerts(const json& alerts, const fs::path& work_dir) {
  // The harness speaks GET only; curl (Debian, in scripts/deps/test.txt) posts.
  auto curl = require_tool("curl");
  fs::path body = work_dir / "alerts-post.json";
  it::write_file(body, alerts.dump());
  auto r = it::run_command("curl-post",
                           {curl.string(), "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
                            "-H", "Content-Type: application/json", "--data-binary", "@" + body.string(),
                            "http://127.0.0.1:" + std::to_string(port_) + "/api/v2/alerts"},
                           work_dir, 20s);
  if (r.exit_code != 0 || r.out != "200") {
    throw std::runtime_error("POST /api/v2/alerts failed: HTTP " + r.out + " " + r.err);
  }
}

// ---------------------------------------------------------------------------

NotificationSink::NotificationSink(const fs::path& dir) : out_dir_(dir / "notifications") {
  auto python = require_tool(kDebianPython);
  require_python_module("aiosmtpd", dir);
  fs::create_directories(out_dir_);
  smtp_port_ = it::free_tcp_port();
  http_port_ = it::free_tcp_port();
  process_ = std::make_unique<it::Process>(
      "notification-sink",
      std::vector<std::string>{python.string(), (tests_dir() / "notification_sink.py").string(),
                               "--smtp-port", std::to_string(smtp_port_), "--http-port",
                               std::to_string(http_port_), "--out", out_dir_.string()},
      dir);
  bool ready = it::wait_until(15s, [&] { return !process_->running() || fs::exists(out_dir_ / "ready"); });
  if (!ready || !process_->running()) {
    throw std::runtime_error("the notification sink did not start within 15 s:\n" + process_->describe());
  }
}

std::vector<json> NotificationSink::read(std::string_view prefix) const {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(out_dir_)) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());  // zero-padded sequence numbers
  std::vector<json> out;
  out.reserve(files.size());
  for (const auto& f : files) out.push_back(load_json(f));
  return out;
}

std::vector<json> NotificationSink::mails() const { return read("mail-"); }
std::vector<json> NotificationSink::posts() const { return read("http-"); }

// ---------------------------------------------------------------------------

json alertmanager_test_config(const fs::path& work_dir, const NotificationSink& sink,
                              std::string_view group_wait, std::string_view group_interval) {
  json config = load_yaml(alertmanager_example(), work_dir);

  json& global = at_existing(config, "global", "");
  at_existing(global, "smtp_smarthost", "global.") = "127.0.0.1:" + std::to_string(sink.smtp_port());
  at_existing(global, "smtp_require_tls", "global.") = false;  // the sink speaks plain SMTP
  global.erase("smtp_auth_username");  // and offers no AUTH
  global.erase("smtp_auth_password");

  json& route = at_existing(config, "route", "");
  at_existing(route, "group_wait", "route.") = group_wait;
  at_existing(route, "group_interval", "route.") = group_interval;
  at_existing(route, "repeat_interval", "route.") = "1h";

  const std::string base = "http://127.0.0.1:" + std::to_string(sink.http_port());
  bool pagerduty = false;
  bool opsgenie = false;
  for (json& receiver : at_existing(config, "receivers", "")) {
    if (receiver.contains("pagerduty_configs")) {
      for (json& c : receiver["pagerduty_configs"]) {
        c["url"] = base + "/pagerduty";
        pagerduty = true;
      }
    }
    if (receiver.contains("opsgenie_configs")) {
      for (json& c : receiver["opsgenie_configs"]) {
        c["api_url"] = base + "/opsgenie/";
        opsgenie = true;
      }
    }
  }
  if (!pagerduty || !opsgenie) {
    throw std::runtime_error("alerts/alertmanager.yml shows no PagerDuty or no Opsgenie receiver");
  }
  return config;
}

}  // namespace stx::alerting
