#include "exporter/web.h"

#include "exporter/gzip.h"
#include "version.h"

namespace stx {
namespace {

constexpr std::string_view kExpositionType = "text/plain; version=0.0.4; charset=utf-8";

std::string landing_page() {
  std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
      "<title>SIP Trunk Exporter</title>\n"
      "<style>body{font-family:sans-serif;margin:2em;max-width:40em}"
      "code{background:#eee;padding:0 .2em}</style></head>\n<body>\n"
      "<h1>SIP Trunk Exporter</h1>\n"
      "<p>Probes SIP trunks and gateways with OPTIONS and exports what it sees for "
      "Prometheus.</p>\n<ul>\n"
      "<li><a href=\"metrics\">Metrics</a></li>\n"
      "<li><a href=\"-/healthy\">Health</a></li>\n</ul>\n"
      "<p>Version <code>";
  page += kVersion;
  page += "</code>, revision <code>";
  page += kRevision;
  page += "</code></p>\n</body>\n</html>\n";
  return page;
}

WebResponse text(int status, std::string body) {
  WebResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

WebResponse handle_web_request(const WebRequest& req, const WebRoutes& routes) {
  const std::string_view path = req.target.substr(0, req.target.find('?'));
  const bool known = path == "/" || path == "/metrics" || path == "/-/healthy";
  if (!known) return text(404, "404 page not found\n");
  if (req.method != "GET" && req.method != "HEAD") {
    WebResponse r = text(405, "405 method not allowed\n");
    r.allow = "GET, HEAD";
    return r;
  }
  if (path == "/-/healthy") return text(200, "Healthy.\n");
  if (path == "/") {
    WebResponse r = text(200, landing_page());
    r.content_type = "text/html; charset=utf-8";
    return r;
  }
  WebResponse r = text(200, routes.metrics_text());
  r.content_type = kExpositionType;
  if (accepts_gzip(req.accept_encoding)) {
    r.body = gzip_compress(r.body);
    r.content_encoding = "gzip";
  }
  return r;
}

}  // namespace stx
