#pragma once
// The project's alerting files (alerts/, dashboards/, tests/alerting/), read as
// JSON whatever their format, and rendered from their jsonnet sources.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stx::alerting {

using nlohmann::json;

std::filesystem::path repo_root();
std::filesystem::path alerts_dir();
std::filesystem::path dashboards_dir();
std::filesystem::path tests_dir();  // tests/alerting
std::filesystem::path rules_file();  // alerts/sip_trunk_exporter.rules.yml
std::filesystem::path alertmanager_example();  // alerts/alertmanager.yml
// dashboards/*.json, sorted.
std::vector<std::filesystem::path> dashboard_files();

json load_json(const std::filesystem::path& file);
// YAML through Debian's PyYAML (the C++ side has no YAML parser); `work_dir` holds logs.
json load_yaml(const std::filesystem::path& file, const std::filesystem::path& work_dir);

// Runs alerts/render.sh or dashboards/render.sh with `out_dir` as output; throws on failure.
void run_render_script(const std::filesystem::path& script, const std::filesystem::path& out_dir);

// The rules file rendered with _config `overrides` (a jsonnet object, e.g.
// `{targetDownFor: "2s"}`) into `dir`; returns its path.
std::filesystem::path render_rules(const std::filesystem::path& dir, const std::string& overrides);

// Every alerting and recording rule of a parsed rules file.
std::vector<json> all_rules(const json& rules_file);

}  // namespace stx::alerting
