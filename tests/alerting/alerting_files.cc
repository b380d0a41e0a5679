#include "alerting_files.h"

#include <algorithm>
#include <stdexcept>

#include "harness.h"
#include "tools.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace stx::alerting {

fs::path repo_root() { return STX_SOURCE_DIR; }
fs::path alerts_dir() { return repo_root() / "alerts"; }
fs::path dashboards_dir() { return repo_root() / "dashboards"; }
fs::path tests_dir() { return repo_root() / "tests" / "alerting"; }
fs::path rules_file() { return alerts_dir() / "sip_trunk_exporter.rules.yml"; }
fs::path alertmanager_example() { return alerts_dir() / "alertmanager.yml"; }

std::vector<fs::path> dashboard_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dashboards_dir())) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

json load_json(const fs::path& file) {
  std::string text = it::read_file(file);
  if (text.empty()) throw std::runtime_error("cannot read " + file.string());
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
}

json load_yaml(const fs::path& file, const fs::path& work_dir) {
  require_python_module("yaml", work_dir);
  auto r = it::run_command(
      "yaml-to-json",
      {std::string(kDebianPython), "-c",
       "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
       file.string()},
      work_dir, 30s);
  if (r.exit_code != 0) throw std::runtime_error("cannot parse " + file.string() + " as YAML: " + r.err);
  return json::parse(r.out);
}

void run_render_script(const fs::path& script, const fs::path& out_dir) {
  require_tool("jsonnet");
  auto r = it::run_command("render", {"/bin/bash", script.string(), out_dir.string()}, out_dir, 60s);
  if (r.exit_code != 0) {
    throw std::runtime_error(script.string() + " failed (" + it::describe_wait_status(r.status) + "):\n" + r.err);
  }
}

fs::path render_rules(const fs::path& dir, const std::string& overrides) {
  auto jsonnet = require_tool("jsonnet");
  auto r = it::run_command("jsonnet-rules",
                           {jsonnet.string(), "-S", "--tla-code", "overrides=" + overrides,
                            (alerts_dir() / "prometheus_rules.jsonnet").string()},
                           dir, 60s);
  if (r.exit_code != 0) throw std::runtime_error("rendering the rules failed:\n" + r.err);
  fs::path out = dir / "rules.yml";
  it::write_file(out, r.out);
  return out;
}

std::vector<json> all_rules(const json& rules_file) {
  std::vector<json> rules;
  for (const auto& group : rules_file.at("groups")) {
    for (const auto& rule : group.at("rules")) rules.push_back(rule);
  }
  return rules;
}

}  // namespace stx::alerting
