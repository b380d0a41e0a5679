#include "exporter/web.h"

#include <cstdlib>
#include <optional>

#include "exporter/exposition_protobuf.h"
#include "exporter/gzip.h"
#include "exporter/query_string.h"

namespace stx {
namespace {

constexpr std::string_view kExpositionType = "text/plain; version=0.0.4; charset=utf-8";

WebResponse text(int status, std::string body) {
  WebResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

WebResponse html(std::string body) {
  WebResponse r = text(200, std::move(body));
  r.content_type = "text/html; charset=utf-8";
  return r;
}

bool allowed(std::string_view method, std::string_view path) {
  if (path == "/-/reload") return method == "POST" || method == "PUT";
  return method == "GET" || method == "HEAD";
}

void serve_metrics(const WebRequest& req, const WebRoutes& routes, const Respond& respond) {
  WebResponse r = text(200, "");
  // Content negotiation: the protobuf exposition (with native histograms) for a scraper
  // that prefers it, as Prometheus does with --enable-feature=native-histograms.
  const bool protobuf = routes.metrics_protobuf && accepts_protobuf(req.accept);
  r.content_type = protobuf ? kProtobufExpositionType : kExpositionType;
  // Nothing is read until the first piece is asked for: a HEAD request costs no scrape.
  std::unique_ptr<BodySource> source = protobuf ? routes.metrics_protobuf() : routes.metrics();
  if (accepts_gzip(req.accept_encoding)) {
    source = std::make_unique<GzipSource>(std::move(source));
    r.content_encoding = "gzip";
  }
  r.stream = std::move(source);
  respond(std::move(r));
}

void serve_probe(const WebRequest& req, const QueryParams& params, const WebRoutes& routes,
                 const Respond& respond) {
  ProbeRequest p;
  auto target = query_value(params, "target");
  if (!target || target->empty()) {
    respond(text(400, "target parameter is missing\n"));
    return;
  }
  p.target = std::move(*target);
  p.module = query_value(params, "module").value_or("default");
  const auto debug = query_value(params, "debug").value_or("false");
  if (debug != "true" && debug != "false") {
    respond(text(400, "debug must be true or false\n"));
    return;
  }
  p.debug = debug == "true";
  if (!req.scrape_timeout.empty()) {
    const std::string t(req.scrape_timeout);
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (end != t.c_str() + t.size() || !(v > 0) || v > 3600) {
      respond(text(400, "bad X-Prometheus-Scrape-Timeout-Seconds header \"" + t + "\"\n"));
      return;
    }
    p.scrape_timeout = v;
  }
  routes.probe(p, respond);
}

// `path` below the route prefix ("/sip/x" under "/sip" is "/x"); nullopt outside it.
std::optional<std::string_view> route_of(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return path;
  if (path == prefix) return std::string_view("/");
  if (path.starts_with(prefix) && path[prefix.size()] == '/') return path.substr(prefix.size());
  return std::nullopt;
}

// Outside the route prefix: "/" leads to it, as Prometheus and blackbox_exporter do.
WebResponse outside_prefix(std::string_view path, std::string_view prefix) {
  if (path != "/") return text(404, "404 page not found\n");
  WebResponse r = text(302, "");
  r.location = std::string(prefix) + "/";
  return r;
}

bool is_route(std::string_view path, const WebPaths& paths) {
  if (path == paths.telemetry_path) return true;
  for (const std::string_view route : kFixedRoutes) {
    if (path == route) return true;
  }
  return false;
}

}  // namespace

PageLinks page_links(const WebPaths& paths) {
  PageLinks links;
  if (paths.external_path != "/") links.base = paths.external_path + "/";
  links.metrics = paths.telemetry_path.substr(1);
  return links;
}

void handle_web_request(const WebRequest& req, const WebRoutes& routes, const Respond& respond) {
  const auto q = req.target.find('?');
  const std::string_view full_path = req.target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? "" : req.target.substr(q + 1);
  const auto routed = route_of(full_path, routes.paths.route_prefix);
  if (!routed) return respond(outside_prefix(full_path, routes.paths.route_prefix));
  const std::string_view path = *routed;
  if (!is_route(path, routes.paths)) return respond(text(404, "404 page not found\n"));
  if (!allowed(req.method, path)) {
    WebResponse r = text(405, "405 method not allowed\n");
    r.allow = path == "/-/reload" ? "POST, PUT" : "GET, HEAD";
    return respond(std::move(r));
  }
  const auto params = parse_query(query);
  if (!params) return respond(text(400, "malformed query string\n"));
  if (path == "/-/healthy") return respond(text(200, "Healthy.\n"));
  if (path == "/-/ready") {
    return respond(routes.ready() ? text(200, "Ready.\n") : text(503, "Not ready.\n"));
  }
  if (path == "/-/reload") return routes.reload(respond);
  if (path == routes.paths.telemetry_path) return serve_metrics(req, routes, respond);
  if (path == "/probe") return serve_probe(req, *params, routes, respond);
  if (path == "/target") {
    const auto name = query_value(*params, "name");
    if (!name) return respond(text(400, "name parameter is missing\n"));
    const StatusSnapshot s = routes.status_of(*name);
    if (s.targets.empty()) return respond(text(404, "no target named \"" + *name + "\"\n"));
    return respond(html(render_target_page(s, s.targets.front(), page_links(routes.paths))));
  }
  respond(html(render_status_page(routes.status(), page_links(routes.paths))));
}

}  // namespace stx
