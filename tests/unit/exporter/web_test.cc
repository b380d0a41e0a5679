#include <zlib.h>

#include <gtest/gtest.h>

#include "exporter/gzip.h"
#include "exporter/log.h"
#include "exporter/web.h"

namespace stx {
namespace {

std::string gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

const WebRoutes kRoutes{[] { return std::string("sip_target_up{target=\"a\"} 1\n"); }};

TEST(Web, MetricsPlainAndGzip) {
  WebResponse r = handle_web_request({"GET", "/metrics", ""}, kRoutes);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.content_encoding, "");
  EXPECT_EQ(r.body, "sip_target_up{target=\"a\"} 1\n");
  r = handle_web_request({"GET", "/metrics", "deflate, gzip;q=0.8"}, kRoutes);
  EXPECT_EQ(r.content_encoding, "gzip");
  EXPECT_EQ(gunzip(r.body), "sip_target_up{target=\"a\"} 1\n");
}

TEST(Web, LandingHealthAndErrors) {
  WebResponse r = handle_web_request({"GET", "/", ""}, kRoutes);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<a href=\"metrics\">"), std::string::npos);
  EXPECT_EQ(handle_web_request({"GET", "/-/healthy", ""}, kRoutes).status, 200);
  EXPECT_EQ(handle_web_request({"HEAD", "/-/healthy", ""}, kRoutes).status, 200);
  EXPECT_EQ(handle_web_request({"GET", "/metrics?x=1", ""}, kRoutes).status, 200);
  EXPECT_EQ(handle_web_request({"GET", "/nope", ""}, kRoutes).status, 404);
  r = handle_web_request({"POST", "/metrics", ""}, kRoutes);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET, HEAD");
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
