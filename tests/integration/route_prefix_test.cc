// --web.external-url, --web.route-prefix and --web.telemetry-path end to end: the exporter
// behind nginx on a sub-path, as operators deploy it, and every link of its pages followed
// through the proxy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "harness.h"

namespace stx::it {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// nginx in the foreground on 127.0.0.1:<free port>, forwarding `location` to the exporter.
// `upstream_path` is what nginx puts in place of `location` ("" keeps the path as it came).
class Nginx {
 public:
  Nginx(const fs::path& dir, std::string_view location, std::uint16_t exporter_port,
        std::string_view upstream_path, std::uint16_t port)
      : port_(port) {
    const fs::path conf = dir / "nginx.conf";
    write_file(conf, config(dir, location, exporter_port, upstream_path, port));
    process_ = std::make_unique<Process>(
        "nginx",
        std::vector<std::string>{require_tool("nginx").string(), "-p", dir.string(), "-c",
                                 conf.string(), "-e", (dir / "nginx.error.log").string()},
        dir);
    const bool up =
        wait_until(10s, [&] { return !process_->running() || tcp_port_listening(port_); });
    if (!up || !process_->running()) {
      throw std::runtime_error("nginx did not listen on " + std::to_string(port_) + ":\n" +
                               process_->describe() + read_file(dir / "nginx.error.log"));
    }
  }
  std::uint16_t port() const { return port_; }

 private:
  static std::string config(const fs::path& dir, std::string_view location,
                            std::uint16_t exporter_port, std::string_view upstream_path,
                            std::uint16_t port) {
    const std::string d = dir.string();
    std::string c = "daemon off;\nmaster_process off;\npid " + d + "/nginx.pid;\n";
    c += "events { worker_connections 64; }\nhttp {\n  access_log " + d + "/nginx.access.log;\n";
    for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
      c += "  " + std::string(temp) + "_temp_path " + d + "/nginx-" + temp + ";\n";
    }
    c += "  server {\n    listen 127.0.0.1:" + std::to_string(port) + ";\n";
    c += "    location " + std::string(location) +
         " {\n      proxy_pass http://127.0.0.1:" + std::to_string(exporter_port) +
         std::string(upstream_path) + ";\n    }\n  }\n}\n";
    return c;
  }

  std::uint16_t port_;
  std::unique_ptr<Process> process_;
};

// The href values of a page, with &amp; decoded.
std::set<std::string> links_of(const std::string& html) {
  std::set<std::string> links;
  static const std::regex href("href=\"([^\"]*)\"");
  for (std::sregex_iterator it(html.begin(), html.end(), href), end; it != end; ++it) {
    std::string link = (*it)[1];
    for (auto at = link.find("&amp;"); at != std::string::npos; at = link.find("&amp;", at + 1)) {
      link.replace(at, 5, "&");
    }
    links.insert(link);
  }
  return links;
}

class RoutePrefixTest : public ::testing::Test {
 protected:
  // The exporter with --web.external-url=http://<proxy>/<sub_path> and `flags` (answering
  // health checks at `health_path`), one silent target, and nginx forwarding `sub_path` to
  // it with `upstream_path` in its place ("" passes the path on unchanged).
  void start_behind_proxy(const std::string& sub_path, std::vector<std::string> flags,
                          const std::string& health_path, std::string_view upstream_path) {
    require_tool("nginx");
    retry_start(3, [&] {
      const std::uint16_t proxy_port = free_tcp_port();
      ExporterConfigSpec spec;
      spec.targets = {{"trunk a/1", "sip:127.0.0.1:" + std::to_string(silent_.port()), {}, {}}};
      spec.extra_flags = flags;
      spec.extra_flags.push_back(
          "--web.external-url=http://127.0.0.1:" + std::to_string(proxy_port) + sub_path);
      spec.health_path = health_path;
      exporter_ = std::make_unique<Exporter>(tmp_.path(), spec);
      nginx_ = std::make_unique<Nginx>(tmp_.path(), sub_path, exporter_->port(), upstream_path,
                                       proxy_port);
    });
  }

  // Follows every link of the status page and of the target page through the proxy.
  void follow_every_link(std::uint16_t proxy_port, std::string_view base) {
    const HttpResponse index = http_get(proxy_port, base);
    ASSERT_EQ(index.status, 200) << index.body;
    std::set<std::string> links = links_of(index.body);
    ASSERT_GE(links.size(), 3u) << index.body;
    std::set<std::string> detail_links;
    for (const std::string& link : links) {
      EXPECT_THAT(link, StartsWith(std::string(base))) << "a link outside the sub-path";
      const HttpResponse r = http_get(proxy_port, link);
      EXPECT_EQ(r.status, 200) << link << ": " << r.body;
      if (link.find("target?name=") == std::string::npos) continue;
      EXPECT_THAT(r.body, HasSubstr("trunk a/1"));
      const auto more = links_of(r.body);
      detail_links.insert(more.begin(), more.end());
    }
    ASSERT_FALSE(detail_links.empty()) << "no link to a target page on " << base;
    EXPECT_TRUE(detail_links.count(std::string(base))) << "the target page links back";
    for (const std::string& link : detail_links) {
      EXPECT_THAT(link, StartsWith(std::string(base)));
      EXPECT_EQ(http_get(proxy_port, link).status, 200) << link;
    }
  }

  TempDir tmp_{"stx-route-prefix"};
  UdpSocket silent_;
  std::unique_ptr<Exporter> exporter_;
  std::unique_ptr<Nginx> nginx_;  // stopped first
};

// The proxy passes /sip/... on unchanged; the route prefix comes from the external URL.
TEST_F(RoutePrefixTest, StatusPageAndItsLinksWorkBehindAProxyOnASubPath) {
  start_behind_proxy("/sip/", {}, "/sip/-/healthy", "");
  const std::uint16_t proxy = nginx_->port();
  follow_every_link(proxy, "/sip/");

  const Exposition metrics = Exposition::parse(http_get(proxy, "/sip/metrics").body);
  EXPECT_TRUE(metrics.value("sip_target_up", {{"target", "trunk a/1"}}));
  EXPECT_GT(metrics.value("process_open_fds").value_or(0), 0);
  EXPECT_TRUE(wait_until(10s, [&] { return http_get(proxy, "/sip/-/ready").status == 200; }));
  const HttpResponse probe =
      http_get(proxy, "/sip/probe?target=sip:127.0.0.1:" + std::to_string(silent_.port()), {}, 10s);
  EXPECT_EQ(probe.status, 200);
  EXPECT_THAT(probe.body, HasSubstr("sip_probe_success 0"));

  // Straight to the exporter: nothing outside the prefix, and the root leads into it.
  EXPECT_EQ(exporter_->get("/metrics").status, 404);
  EXPECT_EQ(exporter_->get("/-/healthy").status, 404);
  const HttpResponse root = exporter_->get("/");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(root.header("Location").value_or(""), "/sip/");
}

// The proxy strips /ops/sip: routes stay at the root, pages link under the external path,
// and metrics are at the telemetry path.
TEST_F(RoutePrefixTest, ProxyThatStripsThePrefixWithATelemetryPath) {
  start_behind_proxy("/ops/sip/",
                     {"--web.route-prefix=/", "--web.telemetry-path=/internal/metrics"},
                     "/-/healthy", "/");
  follow_every_link(nginx_->port(), "/ops/sip/");
  const HttpResponse metrics = http_get(nginx_->port(), "/ops/sip/internal/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("process_start_time_seconds"));
  EXPECT_EQ(exporter_->get("/metrics").status, 404);
  EXPECT_EQ(exporter_->get("/internal/metrics").status, 200);
}

TEST(WebFlags, BadValuesExitWithAnErrorNamingTheFlag) {
  TempDir tmp("stx-web-flags");
  for (const auto& [flag, needle] : std::vector<std::pair<std::string, std::string>>{
           {"--web.route-prefix=sip", "flag --web.route-prefix: \"sip\" must start with /"},
           {"--web.external-url=/sip", "flag --web.external-url: \"/sip\" is not an absolute URL"},
           {"--web.telemetry-path=metrics", "flag --web.telemetry-path"}}) {
    const RunResult r = run_command("exporter", {exporter_binary().string(), flag}, tmp.path());
    EXPECT_EQ(r.exit_code, 2) << flag;
    EXPECT_THAT(r.err, HasSubstr(needle));
  }
  const RunResult help = run_command("exporter", {exporter_binary().string(), "-h"}, tmp.path());
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--web.route-prefix"));
}

}  // namespace
}  // namespace stx::it
