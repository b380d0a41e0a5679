#pragma once
// What each HTTP path answers: /, /metrics, /-/healthy. Transport-free, so it is unit-tested.
#include <functional>
#include <string>
#include <string_view>

namespace stx {

struct WebRequest {
  std::string_view method;  // "GET", "HEAD", ...
  std::string_view target;  // path with optional query
  std::string_view accept_encoding;
};

struct WebResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string content_encoding;  // "gzip" or empty
  std::string body;
  std::string allow;  // for 405
};

struct WebRoutes {
  std::function<std::string()> metrics_text;  // the exposition, rendered on demand
};

WebResponse handle_web_request(const WebRequest& req, const WebRoutes& routes);

}  // namespace stx
