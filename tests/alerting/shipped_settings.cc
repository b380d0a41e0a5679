#include "shipped_settings.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "alerting_files.h"
#include "harness.h"

namespace fs = std::filesystem;

namespace stx::alerting {
namespace {

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::string unquote(std::string s) {
  s = trim(std::move(s));
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    s = s.substr(1, s.size() - 2);
  }
  return s;
}

// A value without its trailing comment (no '#' inside the values we read).
std::string strip_comment(const std::string& value) { return trim(value.substr(0, value.find('#'))); }

const std::string& at(const std::map<std::string, std::string>& m, const std::string& key, const fs::path& file) {
  auto it = m.find(key);
  if (it == m.end()) throw std::runtime_error(file.string() + " [defaults] sets no " + key);
  return it->second;
}

std::string yaml_duration(const json& j) {
  return j.is_string() ? j.get<std::string>() : std::to_string(j.get<long>()) + "s";
}

}  // namespace

fs::path deploy_config() { return repo_root() / "deploy" / "config.toml"; }
fs::path example_config() { return repo_root() / "config" / "example.toml"; }
fs::path deploy_prometheus() { return repo_root() / "deploy" / "prometheus" / "prometheus.yml"; }

std::string toml_table_text(const fs::path& file, std::string_view table) {
  std::istringstream in(it::read_file(file));
  const std::string header = "[" + std::string(table) + "]";
  std::string out;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    std::string t = trim(line);
    if (!t.empty() && t.front() == '[') {
      if (inside) break;
      inside = t.rfind(header, 0) == 0;
    }
    if (inside) out += line + "\n";
  }
  if (out.empty()) throw std::runtime_error(file.string() + " has no " + header + " table");
  return out;
}

std::map<std::string, std::string> toml_table_values(const fs::path& file, std::string_view table) {
  std::map<std::string, std::string> values;
  std::istringstream in(toml_table_text(file, table));
  for (std::string line; std::getline(in, line);) {
    std::string t = trim(line);
    if (t.empty() || t.front() == '#' || t.front() == '[') continue;
    auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    values[trim(t.substr(0, eq))] = strip_comment(t.substr(eq + 1));
  }
  return values;
}

double duration_seconds(std::string_view text) {
  std::string s = unquote(std::string(text));
  if (s.empty()) throw std::runtime_error("empty duration");
  double total = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
    if (j == i) throw std::runtime_error("not a duration: " + s);
    double n = std::strtod(s.substr(i, j - i).c_str(), nullptr);
    std::size_t k = j;
    while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
    std::string unit = s.substr(j, k - j);
    if (unit == "ms") total += n / 1000;
    else if (unit == "s") total += n;
    else if (unit == "m") total += n * 60;
    else if (unit == "h") total += n * 3600;
    else throw std::runtime_error("not a duration: " + s);
    i = k;
  }
  return total;
}

int ShippedSettings::transmissions() const {
  int n = 0;
  double at = 0, gap = 0.5;
  while (at < timeout) {
    ++n;
    at += gap;
    gap = std::min(gap * 2, 4.0);
  }
  return n;
}

double ShippedSettings::detection() const {
  return timeout + (failures_before_down - 1) * std::max(timeout, fast_interval + jitter);
}

double ShippedSettings::worst_silence_to_email() const {
  return (interval + jitter) + detection() + scrape_interval + evaluation_interval + down_for + group_wait;
}

double ShippedSettings::expected_silence_to_email() const {
  // The wait for the next probe start is length-biased over gaps uniform in
  // [interval, interval + jitter]: E[g^2] / (2 E[g]).
  const double mean_gap = interval + jitter / 2;
  const double mean_sq_gap = mean_gap * mean_gap + jitter * jitter / 12;
  const double detect_mean =
      timeout + (failures_before_down - 1) * std::max(timeout, fast_interval + jitter / 2);
  return mean_sq_gap / (2 * mean_gap) + detect_mean + scrape_interval / 2 + evaluation_interval / 2 +
         down_for + group_wait;
}

ShippedSettings load_shipped_settings(const fs::path& work_dir) {
  ShippedSettings s;
  const fs::path cfg = deploy_config();
  auto d = toml_table_values(cfg, "defaults");
  s.interval = duration_seconds(at(d, "interval", cfg));
  s.fast_interval = d.count("fast_interval") ? duration_seconds(d["fast_interval"]) : s.interval;
  s.down_interval = d.count("down_interval") ? duration_seconds(d["down_interval"]) : s.interval;
  s.timeout = duration_seconds(at(d, "timeout", cfg));
  if (d.count("interval_jitter")) {
    std::string j = unquote(d["interval_jitter"]);
    s.jitter = !j.empty() && j.back() == '%' ? s.interval * std::strtod(j.c_str(), nullptr) / 100
                                             : duration_seconds(j);
  }
  s.failures_before_down = std::stoi(at(d, "failures_before_down", cfg));
  s.successes_before_up = d.count("successes_before_up") ? std::stoi(d["successes_before_up"]) : 1;

  json prom = load_yaml(deploy_prometheus(), work_dir);
  s.scrape_interval_text = yaml_duration(prom.at("global").at("scrape_interval"));
  s.evaluation_interval_text = yaml_duration(prom.at("global").at("evaluation_interval"));
  s.scrape_interval = duration_seconds(s.scrape_interval_text);
  s.evaluation_interval = duration_seconds(s.evaluation_interval_text);

  json rules = load_yaml(rules_file(), work_dir);
  bool found = false;
  for (const auto& r : all_rules(rules)) {
    if (r.value("alert", "") == "SipTrunkDown") {
      s.down_for = duration_seconds(r.at("for").get<std::string>());
      found = true;
    }
  }
  if (!found) throw std::runtime_error("the rules have no SipTrunkDown");

  json am = load_yaml(alertmanager_example(), work_dir);
  const json& route = am.at("route");
  s.group_wait_text = yaml_duration(route.at("group_wait"));
  s.group_interval_text = yaml_duration(route.at("group_interval"));
  s.repeat_interval_text = yaml_duration(route.at("repeat_interval"));
  s.group_wait = duration_seconds(s.group_wait_text);
  return s;
}

}  // namespace stx::alerting
