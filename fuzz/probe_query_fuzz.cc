// A /probe request from an untrusted scraper, up to the point where the engine would send.
//
// Input: "<query>" or "<query>\n<X-Prometheus-Scrape-Timeout-Seconds value>"; a query that
// starts with '/' is the whole request target (path and query) instead. It goes through
// parse_query / query_value, handle_web_request (whose /probe handler builds the
// ProbeRequest) and then what run_probe_request does before the engine: find_module,
// target_for_probe and probe_timeout, against a fixed config with several modules.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "exporter/probe_endpoint.h"
#include "exporter/query_string.h"
#include "exporter/web.h"
#include "fuzz/fuzz_check.h"

namespace {

using std::chrono::milliseconds;

constexpr std::string_view kConfig = R"([exporter]
allow_no_targets = true

[defaults]
timeout = "2s"

[module.tcp]
transport = "tcp"

[module.tls]
transport = "tls"
tls_server_name = "sbc.example.com"
tls_insecure_skip_verify = true

[module.v4]
source_address = "127.0.0.1"
timeout = "30s"

[module.auth]
auth_user = "pbx01"
auth_password = "secret"
ruri_user = "probe"
)";

const stx::Config& config() {
  static const stx::Config c = stx::parse_config(kConfig, "probe_query_fuzz.toml");
  return c;
}

bool one_line(std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; }

// Encoding every pair and parsing it again gives the same pairs.
void check_round_trip(const stx::QueryParams& params) {
  std::string encoded;
  for (const auto& [key, value] : params) {
    if (!encoded.empty()) encoded += '&';
    encoded += stx::url_encode(key) + "=" + stx::url_encode(value);
  }
  const auto again = stx::parse_query(encoded);
  FUZZ_CHECK(again.has_value() && *again == params);
}

// What run_probe_request does with the request before handing a target to the engine.
void resolve(const stx::ProbeRequest& req) {
  FUZZ_CHECK(!req.target.empty());
  FUZZ_CHECK(req.scrape_timeout >= 0 && req.scrape_timeout <= 3600);
  const stx::ModuleConfig* module = stx::find_module(config(), req.module);
  if (module == nullptr) return;
  FUZZ_CHECK(module->name == req.module);
  try {
    stx::TargetConfig target = stx::target_for_probe(*module, req.target);
    FUZZ_CHECK(target.uri == req.target);
    const milliseconds t = stx::probe_timeout(target.shared->timeout, req.scrape_timeout);
    FUZZ_CHECK(t >= stx::kMinProbeTimeout);
    FUZZ_CHECK(t <= std::max(target.shared->timeout, stx::kMinProbeTimeout));
  } catch (const stx::ConfigError& e) {
    FUZZ_CHECK(one_line(e.what()));  // it becomes a 400 body of one line
  }
}

stx::WebRoutes routes(bool& probed) {
  stx::WebRoutes r;
  r.metrics = [] { return std::make_unique<stx::StringSource>("sip_target_up 1\n"); };
  r.status = [] { return stx::StatusSnapshot{}; };
  r.status_of = [](std::string_view) { return stx::StatusSnapshot{}; };
  r.ready = [] { return true; };
  r.probe = [&probed](const stx::ProbeRequest& req, const stx::Respond& respond) {
    probed = true;
    resolve(req);
    respond(stx::WebResponse{});
  };
  r.reload = [](const stx::Respond& respond) { respond(stx::WebResponse{}); };
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = in.find('\n');
  const std::string_view query = in.substr(0, nl);
  const std::string_view scrape_timeout =
      nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  const auto params = stx::parse_query(query);
  if (params) {
    check_round_trip(*params);
    (void)stx::query_value(*params, "target");
  }

  const std::string target =
      !query.empty() && query[0] == '/' ? std::string(query) : "/probe?" + std::string(query);
  stx::WebRequest req;
  req.method = "GET";
  req.target = target;
  req.scrape_timeout = scrape_timeout;
  bool probed = false;
  int responses = 0;
  int status = 0;
  stx::handle_web_request(req, routes(probed), [&](const stx::WebResponse& w) {
    ++responses;
    status = w.status;
  });
  FUZZ_CHECK(responses == 1);  // Respond is called exactly once per request
  if (query.empty() || query[0] != '/') {
    // A /probe request reaches the engine only with a well-formed query and a target.
    if (probed) FUZZ_CHECK(params.has_value());
    if (!params) FUZZ_CHECK(!probed && status == 400);
  }
  return 0;
}
