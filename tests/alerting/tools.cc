#include "tools.h"

#include <map>
#include <stdexcept>
#include <string>

#include "alerting_files.h"
#include "harness.h"

namespace fs = std::filesystem;

namespace stx::alerting {
namespace {

const std::map<std::string, std::string, std::less<>> kPackages = {
    {"jsonnet", "jsonnet"},
    {"jsonnetfmt", "jsonnet"},
    {"promtool", "prometheus"},
    {"prometheus", "prometheus"},
    {"amtool", "prometheus-alertmanager"},
    {"prometheus-alertmanager", "prometheus-alertmanager"},
    {"node", "nodejs"},
    {"kamailio", "kamailio"},
    {"sipp", "sip-tester"},
    {std::string(kDebianPython), "python3"},
    {"aiosmtpd", "python3-aiosmtpd"},
    {"yaml", "python3-yaml"},
    {"curl", "curl"},
};

[[noreturn]] void missing(std::string_view what, std::string_view why) {
  auto it = kPackages.find(what);
  std::string package = it != kPackages.end() ? it->second : std::string(what);
  throw std::runtime_error(std::string(what) + " " + std::string(why) + ": install the Debian package '" +
                           package + "' (scripts/install-deps.sh test installs everything the "
                           "alerting tests need, see scripts/deps/test-alerting.txt)");
}

}  // namespace

fs::path require_tool(std::string_view tool) {
  auto found = it::find_tool(tool);
  if (!found) missing(tool, "is not installed (not found in PATH)");
  return *found;
}

void require_python_module(std::string_view module, const fs::path& work_dir) {
  auto python = require_tool(kDebianPython);
  auto r = it::run_command("python-import", {python.string(), "-c", "import " + std::string(module)},
                           work_dir, std::chrono::seconds(30));
  if (r.exit_code != 0) missing(module, "cannot be imported by " + python.string() + " (" + r.err + ")");
}

fs::path node_modules() {
  fs::path dir = tests_dir() / "node_modules";
  for (const char* package : {"typescript/bin/tsc", "@grafana/schema/package.json"}) {
    if (!fs::exists(dir / package)) {
      throw std::runtime_error((dir / package).string() +
                               " is missing: run scripts/install-deps.sh test (its hook "
                               "scripts/deps/alerting.sh runs npm ci in tests/alerting)");
    }
  }
  return dir;
}

}  // namespace stx::alerting
