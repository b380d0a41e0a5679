#pragma once
// What each HTTP path answers. Transport-free, so it is unit-tested; handlers that need the
// engine (/probe, /-/reload) answer asynchronously through `Respond`.
#include <functional>
#include <string>
#include <string_view>

#include "exporter/status_page.h"

namespace stx {

struct WebRequest {
  std::string_view method;  // "GET", "HEAD", ...
  std::string_view target;  // path with optional query
  std::string_view accept_encoding;
  std::string_view scrape_timeout;  // X-Prometheus-Scrape-Timeout-Seconds, may be empty
};

struct WebResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string content_encoding;  // "gzip" or empty
  std::string body;
  std::string allow;  // for 405
};

// Called exactly once per request, from any thread.
using Respond = std::function<void(WebResponse)>;

struct ProbeRequest {
  std::string target;         // SIP URI from ?target=
  std::string module;         // from ?module=, "default" when absent
  bool debug = false;         // ?debug=true: the exchange as text instead of metrics
  double scrape_timeout = 0;  // seconds from Prometheus' header, 0 when absent
};

struct WebRoutes {
  std::function<std::string()> metrics_text;  // the exposition, rendered on demand
  std::function<StatusSnapshot()> status;
  std::function<StatusSnapshot(std::string_view name)> status_of;
  std::function<bool()> ready;  // config loaded and probing started
  std::function<void(const ProbeRequest&, Respond)> probe;
  std::function<void(Respond)> reload;
};

void handle_web_request(const WebRequest& req, const WebRoutes& routes, const Respond& respond);

}  // namespace stx
