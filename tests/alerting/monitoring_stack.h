#pragma once
// The monitoring side of the live tests, on loopback ephemeral ports: Debian's
// Prometheus and Alertmanager, and a notification sink (SMTP and HTTP) that stands
// in for the mail server, PagerDuty and Opsgenie. Each runs as a harness Process,
// stopped by its destructor even when a test fails.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness.h"

namespace stx::alerting {

using nlohmann::json;

// "a b&c" -> "a%20b%26c", for query strings.
std::string url_encode(std::string_view s);

// Starts `argv` as a harness Process and waits up to 30 s until GET `ready_path` on
// 127.0.0.1:`port` answers 200; throws (with the process's log tail) when it does not.
std::unique_ptr<it::Process> start_and_wait_ready(const std::string& name,
                                                  std::vector<std::string> argv,
                                                  const std::filesystem::path& dir,
                                                  std::uint16_t port,
                                                  std::string_view ready_path = "/-/ready");

class PrometheusServer {
 public:
  struct Options {
    std::uint16_t exporter_port = 0;  // scraped as job "sip_trunk_exporter"
    std::filesystem::path rules_file;
    std::optional<std::uint16_t> alertmanager_port;
    // Prometheus durations; the shipped settings' test passes deploy/prometheus's.
    std::string scrape_interval = "1s";
    std::string evaluation_interval = "1s";
    std::string scrape_timeout = "1s";  // at most scrape_interval
    // Also scraped through the exporter's /probe as job "sip_probe" (README's relabelling:
    // `instance` is the URI), with this module.
    std::vector<std::string> probe_targets;
    std::string probe_module = "default";
    // Added to Prometheus' command line, e.g. --enable-feature=native-histograms.
    std::vector<std::string> extra_flags;
  };
  // Scrape and rule evaluation every second unless the options say otherwise. Waits
  // until /-/ready answers 200.
  PrometheusServer(const std::filesystem::path& dir, const Options& options);

  std::uint16_t port() const { return port_; }
  it::Process& process() { return *process_; }

  // GET /api/v1/<path_and_query> and its parsed body, whatever its status.
  json api(std::string_view path_and_query);
  // An instant query's data.result; throws when Prometheus reports an error.
  json query(std::string_view promql);

 private:
  std::uint16_t port_ = 0;
  std::unique_ptr<it::Process> process_;
};

class AlertmanagerServer {
 public:
  // Writes `config` (JSON is YAML) and starts Alertmanager without clustering.
  // Waits until /-/ready answers 200.
  AlertmanagerServer(const std::filesystem::path& dir, const json& config);

  std::uint16_t port() const { return port_; }
  it::Process& process() { return *process_; }

  // GET /api/v2/alerts (with their status: active, suppressed, inhibitedBy).
  json alerts();
  // POST /api/v2/alerts.
  void post_alerts(const json& alerts, const std::filesystem::path& work_dir);

 private:
  std::uint16_t port_ = 0;
  std::unique_ptr<it::Process> process_;
};

// tests/alerting/notification_sink.py: every email and every HTTP POST it
// receives becomes one JSON file.
class NotificationSink {
 public:
  explicit NotificationSink(const std::filesystem::path& dir);

  std::uint16_t smtp_port() const { return smtp_port_; }
  std::uint16_t http_port() const { return http_port_; }
  it::Process& process() { return *process_; }

  // {"subject", "from", "to", "text"} per email, in arrival order.
  std::vector<json> mails() const;
  // {"path", "body"} per POST, in arrival order.
  std::vector<json> posts() const;

 private:
  std::vector<json> read(std::string_view prefix) const;
  std::filesystem::path out_dir_;
  std::uint16_t smtp_port_ = 0;
  std::uint16_t http_port_ = 0;
  std::unique_ptr<it::Process> process_;
};

// alerts/alertmanager.yml as shipped, with email and both pagers pointed at `sink`
// and the route's timers shortened to `group_wait`/`group_interval`. Throws when
// a setting it rewrites is missing from the example.
json alertmanager_test_config(const std::filesystem::path& work_dir, const NotificationSink& sink,
                              std::string_view group_wait = "1s",
                              std::string_view group_interval = "1s");

}  // namespace stx::alerting
