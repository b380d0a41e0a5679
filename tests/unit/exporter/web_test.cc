#include <zlib.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "exporter/gzip.h"
#include "exporter/log.h"
#include "exporter/web.h"

namespace stx {
namespace {

std::string gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(std::size_t{16} << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

WebRoutes routes() {
  WebRoutes r;
  r.metrics = [] { return std::make_unique<StringSource>("sip_target_up{target=\"a\"} 1\n"); };
  r.status = [] {
    StatusSnapshot s;
    s.targets.push_back(TargetStatus{});
    s.targets.back().name = "edge-a";
    s.targets.back().state = "up";
    return s;
  };
  r.status_of = [](std::string_view name) {
    StatusSnapshot s;
    if (name == "edge a") {
      s.targets.push_back(TargetStatus{});
      s.targets.back().name = "edge a";
    }
    return s;
  };
  r.ready = [] { return false; };
  r.probe = [](const ProbeRequest& p, const Respond& respond) {
    WebResponse w;
    w.body = p.target + "|" + p.module + "|" + (p.debug ? "debug" : "metrics") + "|" +
             std::to_string(p.scrape_timeout);
    respond(std::move(w));
  };
  r.reload = [](const Respond& respond) {
    WebResponse w;
    w.body = "reloaded";
    respond(std::move(w));
  };
  return r;
}

// Synchronous view of the handler for tests; every response must come exactly once.
WebResponse handle_with(const WebRoutes& routes, const WebRequest& req) {
  int calls = 0;
  WebResponse out;
  handle_web_request(req, routes, [&](WebResponse r) {
    ++calls;
    out = std::move(r);
  });
  EXPECT_EQ(calls, 1) << req.target;
  return out;
}

const WebRoutes kRoutes = routes();

WebResponse handle(const WebRequest& req) { return handle_with(kRoutes, req); }

// What a client receives: the streamed body read to its end, or the body.
std::string body_of(const WebResponse& r) { return r.stream ? read_all(*r.stream) : r.body; }

// `pieces` pieces of exposition-like text, counting how many were asked for.
class Pieces final : public BodySource {
 public:
  Pieces(int pieces, int lines) : left_(pieces), lines_(lines) {}
  std::string_view next() override {
    ++asked;
    piece_.clear();
    if (left_ == 0) return piece_;
    --left_;
    for (int i = 0; i < lines_; ++i, ++n_) {
      piece_ +=
          "sip_target_up{target=\"t" + std::to_string(n_) + "\"} " + std::to_string(n_ % 2) + "\n";
    }
    return piece_;
  }
  int asked = 0;

 private:
  int left_;
  int lines_;
  int n_ = 0;
  std::string piece_;
};

TEST(Web, MetricsPlainAndGzip) {
  WebResponse r = handle({"GET", "/metrics", "", "", ""});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.content_encoding, "");
  EXPECT_EQ(body_of(r), "sip_target_up{target=\"a\"} 1\n");
  r = handle({"GET", "/metrics", "deflate, gzip;q=0.8", "", ""});
  EXPECT_EQ(r.content_encoding, "gzip");
  EXPECT_EQ(gunzip(body_of(r)), "sip_target_up{target=\"a\"} 1\n");
}

// /metrics answers with a body to read, not a text: nothing is produced until the server
// asks for the first piece (a HEAD request never does), then one piece per request.
TEST(Web, MetricsAreStreamedNotRendered) {
  WebRoutes routes_with_pieces = routes();
  Pieces* pieces = nullptr;
  routes_with_pieces.metrics = [&] {
    auto p = std::make_unique<Pieces>(3, 10);
    pieces = p.get();
    return p;
  };
  WebResponse r = handle_with(routes_with_pieces, {"GET", "/metrics", "", "", ""});
  ASSERT_NE(r.stream, nullptr);
  ASSERT_NE(pieces, nullptr);
  EXPECT_EQ(pieces->asked, 0);
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(r.stream->next().empty());
  EXPECT_EQ(pieces->asked, 1);
}

// The gzip stream of a body that comes in many pieces is one gzip member that inflates to
// their concatenation, handed out a piece at a time, none much bigger than what went in.
TEST(Gzip, StreamsPieceByPiece) {
  Pieces plain(200, 400);
  const std::string text = read_all(plain);
  auto in = std::make_unique<Pieces>(200, 400);
  Pieces* counted = in.get();
  GzipSource gz(std::move(in));
  std::string packed;
  int out_pieces = 0;
  for (std::string_view piece = gz.next(); !piece.empty(); piece = gz.next()) {
    ++out_pieces;
    // deflate holds at most its window and a block of symbols before it must emit.
    EXPECT_LT(piece.size(), std::size_t{256} * 1024);
    packed.append(piece);
  }
  EXPECT_EQ(counted->asked, 201);
  EXPECT_GT(out_pieces, 1);
  EXPECT_LT(packed.size(), text.size() / 4);
  EXPECT_EQ(gunzip(packed), text);
}

TEST(Gzip, RoundTripsThroughZlib) {
  EXPECT_EQ(gunzip(gzip_compress("")), "");
  // Many lines that share long runs, as an exposition does; bigger than one deflate block.
  std::string text;
  for (int i = 0; i < 20000; ++i) {
    text += "sip_target_up{target=\"t" + std::to_string(i) + "\"} " + std::to_string(i % 2) + "\n";
  }
  ASSERT_LT(text.size(), std::size_t{1} << 20);
  const std::string packed = gzip_compress(text);
  EXPECT_LT(packed.size(), text.size() / 4);
  EXPECT_EQ(gunzip(packed), text);
}

TEST(Web, LandingHealthAndErrors) {
  WebResponse r = handle({"GET", "/", "", "", ""});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("metrics"), std::string::npos);
  EXPECT_EQ(handle({"GET", "/-/healthy", "", "", ""}).status, 200);
  EXPECT_EQ(handle({"HEAD", "/-/healthy", "", "", ""}).status, 200);
  EXPECT_EQ(handle({"GET", "/metrics?x=1", "", "", ""}).status, 200);
  EXPECT_EQ(handle({"GET", "/nope", "", "", ""}).status, 404);
  r = handle({"POST", "/metrics", "", "", ""});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET, HEAD");
}

TEST(Web, ProbeParameters) {
  WebRequest req{"GET", "/probe?target=sip%3A192.0.2.1%3A5060&module=strict&debug=true", "", "9.5",
                 ""};
  EXPECT_EQ(handle(req).body, "sip:192.0.2.1:5060|strict|debug|9.500000");
  EXPECT_EQ(handle({"GET", "/probe?target=sip:192.0.2.1", "", "", ""}).body,
            "sip:192.0.2.1|default|metrics|0.000000");
  WebResponse r = handle({"GET", "/probe?module=strict", "", "", ""});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "target parameter is missing\n");
  EXPECT_EQ(handle({"GET", "/probe?target=x&debug=yes", "", "", ""}).status, 400);
  r = handle({"GET", "/probe?target=x", "", "soon", ""});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "bad X-Prometheus-Scrape-Timeout-Seconds header \"soon\"\n");
  EXPECT_EQ(handle({"GET", "/probe?target=%zz", "", "", ""}).status, 400);
}

TEST(Web, ReadyReloadAndStatusPages) {
  EXPECT_EQ(handle({"GET", "/-/ready", "", "", ""}).status, 503);
  EXPECT_EQ(handle({"POST", "/-/reload", "", "", ""}).body, "reloaded");
  EXPECT_EQ(handle({"PUT", "/-/reload", "", "", ""}).body, "reloaded");
  WebResponse r = handle({"GET", "/-/reload", "", "", ""});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "POST, PUT");
  r = handle({"GET", "/", "", "", ""});
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("edge-a"), std::string::npos);
  EXPECT_EQ(handle({"GET", "/target?name=edge+a", "", "", ""}).status, 200);
  EXPECT_EQ(handle({"GET", "/target?name=nobody", "", "", ""}).status, 404);
  EXPECT_EQ(handle({"GET", "/target", "", "", ""}).status, 400);
}

// The handler with `paths` in place of the defaults.
WebResponse handle_under(const WebPaths& paths, const WebRequest& req) {
  WebRoutes r = routes();
  r.paths = paths;
  return handle_with(r, req);
}

TEST(Web, TelemetryPathReplacesMetrics) {
  const WebPaths paths{"/", "/", "/internal/metrics"};
  EXPECT_EQ(body_of(handle_under(paths, {"GET", "/internal/metrics", "", "", ""})),
            "sip_target_up{target=\"a\"} 1\n");
  EXPECT_EQ(handle_under(paths, {"GET", "/metrics", "", "", ""}).status, 404);
  const WebResponse page = handle_under(paths, {"GET", "/", "", "", ""});
  EXPECT_NE(page.body.find("<a href=\"internal/metrics\">Metrics</a>"), std::string::npos);
}

TEST(Web, EveryRouteIsServedUnderThePrefix) {
  const WebPaths paths{"/sip", "/sip", "/metrics"};
  for (const char* path : {"/sip/metrics", "/sip/-/healthy", "/sip/", "/sip",
                           "/sip/target?name=edge+a", "/sip/probe?target=sip:192.0.2.1"}) {
    EXPECT_EQ(handle_under(paths, {"GET", path, "", "", ""}).status, 200) << path;
  }
  EXPECT_EQ(handle_under(paths, {"GET", "/sip/-/ready", "", "", ""}).status, 503);
  EXPECT_EQ(handle_under(paths, {"POST", "/sip/-/reload", "", "", ""}).body, "reloaded");
  for (const char* path : {"/metrics", "/-/healthy", "/target?name=edge+a", "/sipx/metrics",
                           "/sip/sip/metrics", "/probe?target=sip:192.0.2.1"}) {
    EXPECT_EQ(handle_under(paths, {"GET", path, "", "", ""}).status, 404) << path;
  }
  // The root leads to the prefix, as in Prometheus.
  const WebResponse root = handle_under(paths, {"GET", "/", "", "", ""});
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(root.location, "/sip/");
}

TEST(Web, PagesLinkUnderTheExternalPath) {
  // A proxy that strips /ext: routes at the root, links under /ext.
  const WebPaths paths{"/", "/ext", "/m"};
  const WebResponse page = handle_under(paths, {"GET", "/", "", "", ""});
  EXPECT_NE(page.body.find("<a href=\"/ext/m\">Metrics</a>"), std::string::npos);
  EXPECT_NE(page.body.find("<a href=\"/ext/-/healthy\">Health</a>"), std::string::npos);
  EXPECT_NE(page.body.find("<a href=\"/ext/target?name=edge-a\">"), std::string::npos);
  const WebResponse detail = handle_under(paths, {"GET", "/target?name=edge+a", "", "", ""});
  EXPECT_NE(detail.body.find("<a href=\"/ext/\">"), std::string::npos);
  EXPECT_EQ(detail.body.find("href=\"./\""), std::string::npos);
}

TEST(Gzip, AcceptEncodingParsing) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("br, gzip"));
  EXPECT_TRUE(accepts_gzip("gzip;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
  EXPECT_FALSE(accepts_gzip("xgzip"));
}

TEST(Gzip, RoundTripsLargeInput) {
  std::string big;
  for (int i = 0; i < 20000; ++i)
    big += "sip_probe_rtt_seconds_bucket{le=\"0.1\"} " + std::to_string(i) + "\n";
  const std::string z = gzip_compress(big);
  EXPECT_LT(z.size(), big.size() / 4);
  EXPECT_EQ(gunzip(z), big);
}

TEST(Log, LogfmtQuotingAndFields) {
  EXPECT_EQ(logfmt_value("plain"), "plain");
  EXPECT_EQ(logfmt_value(""), "\"\"");
  EXPECT_EQ(logfmt_value("two words"), "\"two words\"");
  EXPECT_EQ(logfmt_value("a=b"), "\"a=b\"");
  EXPECT_EQ(logfmt_value("q\"\\"), "\"q\\\"\\\\\"");
  EXPECT_EQ(logfmt_value("line\r\nbreak"), "\"line\\r\\nbreak\"");
  EXPECT_EQ(logfmt_value(std::string("nul\0x", 5)), "\"nul\\x00x\"");
  EXPECT_EQ(Logger::format(LogLevel::warn, "target state changed",
                           {{"target", "edge a"}, {"to", "down"}}),
            "level=warn msg=\"target state changed\" target=\"edge a\" to=down");
}

TEST(Log, JsonFormat) {
  EXPECT_EQ(
      Logger::format(LogLevel::info, "started", {{"targets", "2"}, {"server", "a\"b\x01\xff"}},
                     LogFormat::json, "2026-01-01T00:00:00.000Z"),
      "{\"ts\":\"2026-01-01T00:00:00.000Z\",\"level\":\"info\",\"msg\":\"started\","
      "\"targets\":\"2\",\"server\":\"a\\\"b\\u0001\\ufffd\"}");
  EXPECT_EQ(parse_log_format("json"), LogFormat::json);
  EXPECT_FALSE(parse_log_format("text"));
}

TEST(Log, LevelFilter) {
  Logger log;
  EXPECT_FALSE(log.enabled(LogLevel::debug));
  EXPECT_TRUE(log.enabled(LogLevel::info));
  log.set_level(LogLevel::error);
  EXPECT_FALSE(log.enabled(LogLevel::warn));
  EXPECT_EQ(parse_log_level("debug"), LogLevel::debug);
  EXPECT_FALSE(parse_log_level("verbose"));
}

}  // namespace
}  // namespace stx
