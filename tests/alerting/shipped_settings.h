#pragma once
// The health policy the project ships, read from the files a user deploys:
// deploy/config.toml (the exporter's [defaults], as config/example.toml),
// deploy/prometheus/prometheus.yml (scrape and evaluation intervals), the rendered
// rules (SipTrunkDown's `for`) and alerts/alertmanager.yml (group_wait). README
// "From silence to email" adds them up; the tests hold them to the bounds
// and run them unchanged.
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace stx::alerting {

std::filesystem::path deploy_config();      // deploy/config.toml
std::filesystem::path example_config();     // config/example.toml
std::filesystem::path deploy_prometheus();  // deploy/prometheus/prometheus.yml

// The text of the [defaults] table of a TOML file, from its header up to the next
// table header: written verbatim into a test's configuration. Throws when absent.
std::string toml_table_text(const std::filesystem::path& file, std::string_view table);
// Its `key = value` pairs (values as written, comments dropped).
std::map<std::string, std::string> toml_table_values(const std::filesystem::path& file, std::string_view table);

// "15s", "500ms", "1m30s", "0s" (quotes around it ignored) in seconds; throws otherwise.
double duration_seconds(std::string_view text);

struct ShippedSettings {
  double interval = 0;        // s
  double jitter = 0;          // s, the largest addition to an interval (interval_jitter)
  double fast_interval = 0;   // s
  double down_interval = 0;   // s
  double timeout = 0;         // s
  int failures_before_down = 0;
  int successes_before_up = 0;
  double scrape_interval = 0;      // s
  double evaluation_interval = 0;  // s
  double down_for = 0;             // s, SipTrunkDown's `for`
  double group_wait = 0;           // s
  std::string group_wait_text, group_interval_text, repeat_interval_text;
  std::string scrape_interval_text, evaluation_interval_text;

  // UDP transmissions inside the timeout (RFC 3261 Timer E from T1 = 500 ms: at 0, 0.5,
  // 1.5, 3.5, 7.5, ... s, the interval doubling up to T2 = 4 s).
  int transmissions() const;
  // From the exporter's first failed probe's start to its down verdict, for a silent
  // peer: the first probe's timeout, then each re-check at fast_interval (+ jitter) but
  // never before the previous one ended.
  double detection() const;
  // Silence to email, README "From silence to email": the worst case and the expected one.
  double worst_silence_to_email() const;
  double expected_silence_to_email() const;
};

// Reads every file above; `work_dir` holds the YAML parser's logs.
ShippedSettings load_shipped_settings(const std::filesystem::path& work_dir);

}  // namespace stx::alerting
