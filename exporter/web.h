#pragma once
// What each HTTP path answers. Transport-free, so it is unit-tested; handlers that need the
// engine (/probe, /-/reload) answer asynchronously through `Respond`.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "exporter/exposition.h"
#include "exporter/status_page.h"

namespace stx {

struct WebRequest {
  std::string_view method;  // "GET", "HEAD", ...
  std::string_view target;  // path with optional query
  std::string_view accept_encoding;
  std::string_view scrape_timeout;  // X-Prometheus-Scrape-Timeout-Seconds, may be empty
  std::string_view accept;          // for /metrics: text or protobuf
};

struct WebResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string content_encoding;  // "gzip" or empty
  std::string body;
  std::string allow;     // for 405
  std::string location;  // for 302
  // Set instead of `body` for a body written as it is produced (/metrics): sent with chunked
  // transfer encoding, or until the connection closes to an HTTP/1.0 client; a piece is
  // asked for once the one before has been written. A HEAD request never reads it.
  std::shared_ptr<BodySource> stream;
};

// Called exactly once per request, from any thread.
using Respond = std::function<void(WebResponse)>;

struct ProbeRequest {
  std::string target;         // SIP URI from ?target=
  std::string module;         // from ?module=, "default" when absent
  bool debug = false;         // ?debug=true: the exchange as text instead of metrics
  double scrape_timeout = 0;  // seconds from Prometheus' header, 0 when absent
};

// Routes at fixed paths under the route prefix; the metrics path is a flag.
inline constexpr std::string_view kFixedRoutes[] = {"/",         "/-/healthy", "/-/ready",
                                                    "/-/reload", "/probe",     "/target"};

// Where routes are served and what pages link to, from the --web.* flags. Prefixes are "/"
// or "/x" with no trailing slash.
struct WebPaths {
  std::string route_prefix = "/";
  std::string external_path = "/";  // the path users reach route_prefix at
  std::string telemetry_path = "/metrics";
};

// The links of the HTML pages: relative while no external path is set (they work from
// wherever the page is served), else under the external path.
PageLinks page_links(const WebPaths& paths);

struct WebRoutes {
  WebPaths paths;
  // The exposition, a piece at a time as it is read (Metrics::scrape).
  std::function<std::unique_ptr<BodySource>()> metrics;
  // The protobuf exposition (Metrics::scrape_protobuf), for a scraper whose Accept header
  // prefers it; when unset every scrape gets the text.
  std::function<std::unique_ptr<BodySource>()> metrics_protobuf;
  std::function<StatusSnapshot()> status;
  std::function<StatusSnapshot(std::string_view name)> status_of;
  std::function<bool()> ready;  // config loaded and probing started
  std::function<void(const ProbeRequest&, Respond)> probe;
  std::function<void(Respond)> reload;
};

void handle_web_request(const WebRequest& req, const WebRoutes& routes, const Respond& respond);

}  // namespace stx
