// /metrics written as it is produced, against real clients over loopback: HTTP/1.1 chunked
// encoding, gzip that curl and gzip inflate, HTTP/1.0 (the body ends at the close), HEAD,
// and a scraper that stops reading: the exporter goes on serving and probing, and holds
// about one piece of the scrape, not the whole text.
#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness.h"
#include "raw_http.h"

namespace stx::it {
namespace {

using ::testing::HasSubstr;

constexpr int kTargets = 3000;
// Enough for a body (about 18 MB) well past what loopback socket buffers hold.
constexpr int kLargeFleet = 10000;

// Targets nobody answers, probed rarely: a large body to stream and a little work to do.
std::string fleet_config(int targets = kTargets) {
  std::string toml = "[defaults]\ninterval = \"30s\"\ntimeout = \"500ms\"\n";
  for (int i = 0; i < targets; ++i) {
    toml += "\n[[target]]\nname = \"t" + std::to_string(i) + "\"\nuri = \"sip:127.0.0.1:9\"\n";
  }
  return toml;
}

std::string_view after_head(std::string_view raw) { return raw.substr(raw.find("\r\n\r\n") + 4); }

// The exporter adds its targets over a moment after it starts listening (longer in a
// sanitized build): the tests scrape once every target has its series.
void wait_for_fleet(FlaggedExporter& exporter, int targets) {
  const bool all = wait_until(60s, [&] {
    return exporter.scrape().find("sip_target_up").size() == static_cast<std::size_t>(targets);
  });
  ASSERT_TRUE(all) << "not every target appeared within 60 s";
}

// Sanitizer runtimes keep shadow memory and quarantined blocks: RSS says little there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

class ScrapeStream : public ::testing::Test {
 protected:
  TempDir tmp_{"stx-scrape-stream"};
};

TEST_F(ScrapeStream, Http11IsChunkedInPiecesAndParses) {
  FlaggedExporter exporter(tmp_.path(), fleet_config(), {});
  wait_for_fleet(exporter, kTargets);
  Conn c(exporter.port());
  ASSERT_TRUE(c.send("GET /metrics HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  const std::string raw = c.read_until_closed(Clock::now() + 30s);
  ASSERT_EQ(status_of(raw), 200) << raw.substr(0, 300);
  EXPECT_EQ(header_of(raw, "Transfer-Encoding"), "chunked");
  EXPECT_EQ(header_of(raw, "Content-Length"), "");
  const auto body = dechunk(after_head(raw));
  ASSERT_TRUE(body.has_value()) << "broken chunked framing";
  EXPECT_GT(body->chunks, 4) << "written in pieces, not at once";
  const Exposition e = Exposition::parse(body->body);
  EXPECT_EQ(e.find("sip_target_up").size(), std::size_t{kTargets});
  const CheckResult check = promtool_check_metrics(body->body, tmp_.path());
  EXPECT_EQ(check.exit_code, 0) << check.output;
}

TEST_F(ScrapeStream, GzipIsOneStreamThatCurlAndGzipInflate) {
  FlaggedExporter exporter(tmp_.path(), fleet_config(), {});
  wait_for_fleet(exporter, kTargets);
  const std::string url = "http://127.0.0.1:" + std::to_string(exporter.port()) + "/metrics";
  const RunResult curl =
      run_command("curl", {require_tool("curl").string(), "-sS", "--compressed", "-o", "-", url},
                  tmp_.path(), 30s);
  ASSERT_EQ(curl.exit_code, 0) << curl.err;
  EXPECT_EQ(Exposition::parse(curl.out).find("sip_target_up").size(), std::size_t{kTargets});

  Conn c(exporter.port());
  ASSERT_TRUE(c.send(
      "GET /metrics HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"));
  const std::string raw = c.read_until_closed(Clock::now() + 30s);
  ASSERT_EQ(status_of(raw), 200);
  EXPECT_EQ(header_of(raw, "Content-Encoding"), "gzip");
  EXPECT_EQ(header_of(raw, "Transfer-Encoding"), "chunked");
  const auto packed = dechunk(after_head(raw));
  ASSERT_TRUE(packed.has_value());
  EXPECT_GT(packed->chunks, 1);
  const std::string text = gunzip(packed->body, tmp_.path());
  EXPECT_EQ(Exposition::parse(text).find("sip_target_up").size(), std::size_t{kTargets});
  EXPECT_LT(packed->body.size(), text.size() / 4);
}

TEST_F(ScrapeStream, Http10EndsAtTheCloseAndHeadReadsNothing) {
  FlaggedExporter exporter(tmp_.path(), fleet_config(), {});
  wait_for_fleet(exporter, kTargets);
  Conn c(exporter.port());
  ASSERT_TRUE(c.send("GET /metrics HTTP/1.0\r\n\r\n"));
  bool closed = false;
  const std::string raw = c.read_until_closed(Clock::now() + 30s, &closed);
  EXPECT_TRUE(closed);
  ASSERT_EQ(status_of(raw), 200);
  EXPECT_EQ(header_of(raw, "Transfer-Encoding"), "");
  EXPECT_EQ(header_of(raw, "Content-Length"), "");
  EXPECT_EQ(Exposition::parse(after_head(raw)).find("sip_target_up").size(), std::size_t{kTargets});

  // HEAD: the GET's header, no body, and the connection stays in step for the next request.
  Conn k(exporter.port());
  ASSERT_TRUE(
      k.send("HEAD /metrics HTTP/1.1\r\nHost: h\r\n\r\n"
             "GET /-/healthy HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  const std::string both = k.read_until_closed(Clock::now() + 10s);
  ASSERT_EQ(status_of(both), 200) << both;
  EXPECT_EQ(header_of(both, "Transfer-Encoding"), "chunked");
  EXPECT_EQ(header_of(both, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(after_head(both).substr(0, 9), "HTTP/1.1 ") << both;
  EXPECT_THAT(std::string(after_head(both)), HasSubstr("Healthy.")) << both;
}

// A scraper that reads nothing: the exporter writes what the socket buffers take, then waits
// for it, producing no more; meanwhile it answers other requests and probes on. Once the
// reader resumes, the whole body arrives.
TEST_F(ScrapeStream, AStalledReaderHoldsOnePieceAndBlocksNothing) {
  FlaggedExporter exporter(tmp_.path(), fleet_config(kLargeFleet), {});
  // Once every target has its address series the text is about 18 MB.
  std::size_t text_size = 0;
  wait_until(60s, [&] {
    text_size = exporter.scrape().text().size();
    return text_size > (std::size_t{12} << 20);
  });
  ASSERT_GT(text_size, std::size_t{12} << 20) << "a body well past the socket buffers";
  const std::size_t rss_before = exporter.rss_bytes();
  // Loopback socket buffers take a few MB at most (tcp_wmem and tcp_rmem maxima): the rest
  // of the body waits in the exporter, which must not render it meanwhile. (A small receive
  // buffer would stall it better but makes the reader too slow for the 30 s write deadline.)
  Conn slow(exporter.port());
  ASSERT_TRUE(slow.send("GET /metrics HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  // Some of the body arrives, then the reader stops.
  const std::string start = slow.read_at_least(4096, Clock::now() + 10s);
  ASSERT_EQ(status_of(start), 200);
  // Others are served meanwhile, and the stalled scrape holds no copy of the text.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(exporter.get("/-/healthy").status, 200);
    const Exposition other = exporter.scrape();
    EXPECT_EQ(other.find("sip_target_up").size(), std::size_t{kLargeFleet});
  }
  const std::size_t rss_stalled = exporter.rss_bytes();
  if (!kSanitized) {
    EXPECT_LT(rss_stalled, rss_before + text_size / 2)
        << "RSS " << rss_before / 1024 << " KiB before, " << rss_stalled / 1024
        << " KiB with a scrape stalled; the text is " << text_size / 1024 << " KiB";
  }
  const std::string rest = slow.read_until_closed(Clock::now() + 30s);
  const auto body = dechunk(after_head(start + rest));
  ASSERT_TRUE(body.has_value()) << "the stalled scrape completes";
  EXPECT_EQ(Exposition::parse(body->body).find("sip_target_up").size(), std::size_t{kLargeFleet});
  ASSERT_TRUE(exporter.process().running()) << exporter.process().describe();
}

}  // namespace
}  // namespace stx::it
