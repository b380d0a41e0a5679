// The web side against hostile clients, over real sockets: requests that once killed the
// exporter or grew its memory without bound, a flood of wrong passwords in front of a
// scrape, a reload of an empty file, and the small RFC 9112 and header rules. After each
// case the exporter must still run, its resident memory must stay near where it was, and a
// scrape must be answered within Prometheus' default scrape timeout.
#include <sys/resource.h>
#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "certs.h"
#include "harness.h"
#include "raw_http.h"

namespace stx::it {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Prometheus' default scrape_timeout.
constexpr auto kScrapeBudget = 10s;
// Growth of resident memory a case may cause (the attacks below offered hundreds of MB).
constexpr std::size_t kMaxRssGrowth = 32u << 20;

// bcrypt, cost 10 (about 50 ms each here, as a real deployment would choose).
constexpr const char* kUser = "prometheus";
constexpr const char* kPassword = "correct horse";
constexpr const char* kHash = "$2b$10$vmKx3oWffQayz2MrOYDbb.RNqfGha.p39n.e1iEPjJ/y2xTFVftl2";
constexpr const char* kSecondUser = "grafana";
constexpr const char* kSecondPassword = "second staple";
constexpr const char* kSecondHash = "$2b$10$tsBCkF9bjqimdp1VPswq7Ot9.ftAZLAS6m4OR.8yK/tzoIG197L.K";

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string basic(std::string_view user, std::string_view password) {
  return "Basic " + base64(std::string(user) + ":" + std::string(password));
}

// Two targets nobody answers: the exporter has series to serve and work to do.
const std::string kConfig =
    "[defaults]\ninterval = \"1s\"\ntimeout = \"800ms\"\n"
    "\n[[target]]\nname = \"alpha\"\nuri = \"sip:127.0.0.1:9\"\n"
    "\n[[target]]\nname = \"beta\"\nuri = \"sip:127.0.0.1:9;transport=tcp\"\n";

const std::string kTrailerHead =
    "GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string kTrailer = "0\r\nX-T: " + std::string(65534, 'a') + "\r\n\r\n";

// Sends the head, waits for an early answer, then sends the rest: the exporter refuses a
// chunked GET on its head alone, and a build that waited for the trailer died on it.
template <class Connection>
std::string send_in_two(Connection& c, const std::string& head, const std::string& rest) {
  c.send(head);
  std::string answer = c.read_until_closed(Clock::now() + 1s);
  c.send(rest);  // fails once the exporter has closed
  answer += c.read_until_closed(Clock::now() + 2s);
  return answer;
}

class HostileClient : public ::testing::Test {
 protected:
  // The exporter lives, its memory stayed within bounds since `rss_before`, and a scrape is
  // answered within the budget.
  void expect_still_serving(FlaggedExporter& exporter, std::size_t rss_before) {
    ASSERT_TRUE(exporter.process().running()) << exporter.process().describe();
    const std::size_t rss = exporter.rss_bytes();
    EXPECT_LE(rss, rss_before + kMaxRssGrowth)
        << "RSS grew from " << rss_before / 1024 << " KiB to " << rss / 1024 << " KiB";
    const auto start = Clock::now();
    const HttpResponse r = exporter.get("/metrics", kScrapeBudget);
    EXPECT_EQ(r.status, 200);
    EXPECT_LT(Clock::now() - start, kScrapeBudget);
    std::cout << "RSS " << rss_before / 1024 << " -> " << rss / 1024 << " KiB\n";
  }

  // Resident memory once the exporter has served a scrape.
  static std::size_t settled_rss(FlaggedExporter& exporter) {
    exporter.scrape();
    return exporter.rss_bytes();
  }

  TempDir tmp_{"stx-hostile-client"};
};

// Once: "terminate called after throwing an instance of 'boost::wrapexcept<std::length_error>'
// what(): field value too large", exit 134, with no credentials needed.
TEST_F(HostileClient, A64KiBTrailerFieldIsRefusedAndTheExporterLives) {
  FlaggedExporter exporter(tmp_.path(), kConfig, {"--log.level=debug"});
  const std::size_t rss = settled_rss(exporter);
  for (int i = 0; i < 3; ++i) {
    Conn c(exporter.port());
    const std::string answer = send_in_two(c, kTrailerHead, kTrailer);
    EXPECT_EQ(status_of(answer), 400) << answer.substr(0, 200);
  }
  // The same trailer on a POST, which may carry a body: refused by size once 16 KiB are in.
  // The exporter reads on after refusing, so the rest does not reset the connection.
  Conn c(exporter.port());
  const std::string answer = send_in_two(
      c, "POST /-/reload" + kTrailerHead.substr(std::string("GET /-/healthy").size()), kTrailer);
  EXPECT_EQ(status_of(answer), 413) << answer.substr(0, 200);
  expect_still_serving(exporter, rss);
}

// The request is parsed before credentials are checked, so TLS and basic auth did not help.
TEST_F(HostileClient, A64KiBTrailerFieldOverTlsWithBasicAuthIsRefused) {
  TestCa ca(tmp_.path(), "hostile-ca");
  CertRequest req;
  req.common_name = "127.0.0.1";
  req.ips = {"127.0.0.1"};
  req.not_before = static_cast<std::int64_t>(std::time(nullptr)) - 3600;
  req.not_after = req.not_before + 2 * 86400;
  const CertKey server = ca.issue("server", req);
  const fs::path web = tmp_ / "web.yml";
  write_file(web, "tls_server_config:\n  cert_file: " + server.cert.string() +
                      "\n  key_file: " + server.key.string() + "\nbasic_auth_users:\n  " + kUser +
                      ": " + kHash + "\n");
  FlaggedExporter exporter(tmp_.path(), kConfig, {"--web.config.file=" + web.string()},
                           {{"Authorization", basic(kUser, kPassword)}}, {}, true);
  const std::size_t rss = settled_rss(exporter);
  TlsConn c(exporter.port());
  const std::string answer = send_in_two(c, kTrailerHead, kTrailer);
  EXPECT_EQ(status_of(answer), 400) << answer.substr(0, 200);
  expect_still_serving(exporter, rss);
}

// Once: a 256 MB chunk extension was read whole, and 8 of 128 MB took RSS to 1 GB.
TEST_F(HostileClient, HugeChunkExtensionsAreCutOffEarly) {
  FlaggedExporter exporter(tmp_.path(), kConfig, {});
  const std::size_t rss = settled_rss(exporter);
  constexpr int kClients = 8;
  constexpr std::size_t kOffer = 128u << 20;
  std::vector<std::size_t> sent(kClients, 0);
  std::vector<int> statuses(kClients, 0);
  std::vector<std::thread> clients;
  clients.reserve(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      Conn c(exporter.port());
      c.send(
          "POST /-/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n1;x=");
      const std::string block(64 * 1024, 'a');
      const auto deadline = Clock::now() + 20s;
      while (sent[i] < kOffer && Clock::now() < deadline && c.send(block)) sent[i] += block.size();
      statuses[i] = status_of(c.read_until_closed(Clock::now() + 2s));
    });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    EXPECT_LT(sent[i], kOffer) << "client " << i << " could send all of its extension";
    // The 413 may be lost to the reset that closing an unread socket causes.
    EXPECT_THAT(statuses[i], ::testing::AnyOf(0, 413)) << i;
  }
  expect_still_serving(exporter, rss);
}

// Once: 16 MB of small trailer fields raised RSS by 170 MB, and it never came back down.
TEST_F(HostileClient, ManySmallTrailerFieldsAreRefused) {
  FlaggedExporter exporter(tmp_.path(), kConfig, {});
  const std::size_t rss = settled_rss(exporter);
  Conn c(exporter.port());
  c.send(
      "POST /-/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\nx\r\n0\r\n");
  std::string fields;
  for (int i = 0; i < 4096; ++i) fields += "X-" + std::to_string(i) + ": v\r\n";
  std::size_t sent = 0;
  const auto deadline = Clock::now() + 20s;
  while (sent < (16u << 20) && Clock::now() < deadline && c.send(fields)) sent += fields.size();
  EXPECT_LT(sent, 16u << 20) << "the exporter read 16 MB of trailer";
  expect_still_serving(exporter, rss);
}

// Once: 100 wrong passwords sent at once delayed a scrape with cached credentials by 6.6 s,
// as every check queued behind every bcrypt.
TEST_F(HostileClient, WrongPasswordFloodDoesNotDelayScrapes) {
  const fs::path web = tmp_ / "web.yml";
  write_file(web, std::string("basic_auth_users:\n  ") + kUser + ": " + kHash + "\n  " +
                      kSecondUser + ": " + kSecondHash + "\n");
  FlaggedExporter exporter(tmp_.path(), kConfig, {"--web.config.file=" + web.string()},
                           {{"Authorization", basic(kUser, kPassword)}});
  const std::size_t rss = settled_rss(exporter);  // kUser's credentials are cached now
  // The exporter keeps at most half its descriptor limit in connections (it inherits ours).
  rlimit nofile{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &nofile), 0);
  if (nofile.rlim_cur < 1024) GTEST_SKIP() << "RLIMIT_NOFILE " << nofile.rlim_cur << " < 1024";

  // 1,000 wrong passwords from another address: 250 connections, 4 requests each.
  constexpr int kConnections = 250;
  constexpr int kPerConnection = 4;
  std::vector<std::unique_ptr<Conn>> flood;
  for (int i = 0; i < kConnections; ++i) {
    flood.push_back(std::make_unique<Conn>(exporter.port(), "127.0.0.2"));
    std::string requests;
    for (int j = 0; j < kPerConnection; ++j) {
      requests += "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " +
                  basic(kUser, "guess-" + std::to_string(i) + "-" + std::to_string(j)) +
                  (j + 1 == kPerConnection ? "\r\nConnection: close" : "") + "\r\n\r\n";
    }
    flood.back()->send(requests);
  }

  auto timed_scrape = [&](const std::string& authorization) {
    const auto start = Clock::now();
    const HttpResponse r =
        http_get(exporter.port(), "/metrics", {{"Authorization", authorization}}, kScrapeBudget);
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    EXPECT_EQ(r.status, 200);
    return s;
  };
  const double cached = timed_scrape(basic(kUser, kPassword));
  // Answered, not 429: one address cannot take the whole bcrypt queue.
  const double uncached = timed_scrape(basic(kSecondUser, kSecondPassword));
  std::cout << "during 1,000 wrong passwords: cached scrape " << cached * 1000
            << " ms, first scrape of another user " << uncached * 1000 << " ms\n";
  EXPECT_LT(cached, 1.0) << "a cached scrape waited for bcrypt";

  std::map<int, int> statuses;
  for (auto& c : flood) {
    const std::string answers = c->read_until_closed(Clock::now() + 30s);
    for (std::size_t at = answers.find("HTTP/1.1 "); at != std::string::npos;
         at = answers.find("HTTP/1.1 ", at + 1)) {
      ++statuses[status_of(std::string_view(answers).substr(at))];
    }
  }
  EXPECT_EQ(statuses[200], 0);
  EXPECT_GT(statuses[429], 0) << "nothing bounded the bcrypt queue";
  EXPECT_GT(statuses[401], 0);
  EXPECT_EQ(statuses[401] + statuses[429], kConnections * kPerConnection);
  std::cout << statuses[401] << " answered 401 after bcrypt, " << statuses[429]
            << " refused at once with 429\n";
  expect_still_serving(exporter, rss);
}

// A refused password does not desynchronise a kept-alive connection: a request with a body
// after it, then a correct one, are each answered in turn.
TEST_F(HostileClient, KeptAliveConnectionStaysInStepAfterA401) {
  const fs::path web = tmp_ / "web.yml";
  write_file(web, std::string("basic_auth_users:\n  ") + kUser + ": " + kHash + "\n");
  FlaggedExporter exporter(tmp_.path(), kConfig, {"--web.config.file=" + web.string()},
                           {{"Authorization", basic(kUser, kPassword)}});
  const std::size_t rss = settled_rss(exporter);
  Conn c(exporter.port());
  c.send("POST /-/reload HTTP/1.1\r\nHost: h\r\nAuthorization: " + basic(kUser, "wrong") +
         "\r\nContent-Length: 37\r\n\r\nGET /-/healthy HTTP/1.1\r\nHost: h\r\n\r\n"
         "HEAD /metrics HTTP/1.1\r\nHost: h\r\nAuthorization: " +
         basic(kUser, "wrong") +
         "\r\n\r\n"
         "GET /-/healthy HTTP/1.1\r\nHost: h\r\nConnection: close\r\nAuthorization: " +
         basic(kUser, kPassword) + "\r\n\r\n");
  const std::string answers = c.read_until_closed(Clock::now() + 10s);
  std::vector<int> statuses;
  for (std::size_t at = answers.find("HTTP/1.1 "); at != std::string::npos;
       at = answers.find("HTTP/1.1 ", at + 1)) {
    statuses.push_back(status_of(std::string_view(answers).substr(at)));
  }
  // The body that looks like a request is the POST's body, not a request of its own.
  EXPECT_THAT(statuses, ::testing::ElementsAre(401, 401, 200)) << answers;
  EXPECT_THAT(answers, HasSubstr("Healthy.")) << "the last answer's body";
  expect_still_serving(exporter, rss);
}

// Once: an empty file reloaded with 200 "Reloaded.", every target dropped and the reload
// gauge at 1, so the reload-failed alert could not fire.
TEST_F(HostileClient, AReloadThatWouldDropEveryTargetIsRefused) {
  FlaggedExporter exporter(tmp_.path(), kConfig, {});
  const std::size_t rss = settled_rss(exporter);
  auto both_targets = [&] {
    const Exposition e = exporter.scrape();
    return e.value("sip_target_up", {{"target", "alpha"}}).has_value() &&
           e.value("sip_target_up", {{"target", "beta"}}).has_value();
  };
  auto reload_ok = [&] {
    return exporter.scrape().value("sip_exporter_config_last_reload_successful");
  };
  ASSERT_TRUE(both_targets());

  // Empty, and cut off before the first [[target]] (a config run caught half-way).
  const std::string truncated = kConfig.substr(0, kConfig.find("[[target]]"));
  for (const std::string& text : {std::string(), truncated}) {
    write_file(exporter.config_path(), text);
    const std::string answer = post_reload(exporter.port());
    EXPECT_EQ(status_of(answer), 500) << answer;
    EXPECT_THAT(body_of(answer), HasSubstr("allow_no_targets = true"));
    EXPECT_TRUE(both_targets()) << "the running configuration was dropped";
    EXPECT_EQ(reload_ok(), 0.0);
  }
  // SIGHUP takes the same path.
  write_file(exporter.config_path(), kConfig);
  EXPECT_EQ(status_of(post_reload(exporter.port())), 200);
  EXPECT_EQ(reload_ok(), 1.0);
  write_file(exporter.config_path(), "");
  exporter.process().signal(SIGHUP);
  EXPECT_TRUE(wait_until(5s, [&] { return reload_ok() == 0.0; }));
  EXPECT_TRUE(both_targets());

  // Said explicitly, an exporter for /probe only is fine.
  write_file(exporter.config_path(), "[exporter]\nallow_no_targets = true\n");
  EXPECT_EQ(status_of(post_reload(exporter.port())), 200);
  EXPECT_FALSE(both_targets());
  EXPECT_EQ(reload_ok(), 1.0);

  // The same rule at start.
  const fs::path empty = tmp_ / "empty.toml";
  write_file(empty, "");
  const RunResult refused =
      run_command("exporter-empty",
                  {exporter_binary().string(), "--config.file=" + empty.string(),
                   "--web.listen-address=127.0.0.1:" + std::to_string(free_tcp_port())},
                  tmp_.path(), 10s);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("no [[target]] tables"));
  expect_still_serving(exporter, rss);
}

// /target echoes the name it was asked for as text/plain: no browser may sniff it as HTML.
TEST_F(HostileClient, EchoedTextIsNeverSniffedAsHtml) {
  FlaggedExporter exporter(tmp_.path(), kConfig, {});
  const std::size_t rss = settled_rss(exporter);
  const std::string answer =
      http_raw(exporter.port(),
               "GET /target?name=%3Chtml%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E HTTP/1.1\r\n"
               "Host: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(answer), 404);
  EXPECT_THAT(body_of(answer), HasSubstr("<script>"));
  EXPECT_EQ(header_of(answer, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header_of(http_raw(exporter.port(),
                               "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
                      "x-content-type-options"),
            "nosniff");
  expect_still_serving(exporter, rss);
}

// RFC 9112 3.2.2: a server must accept the absolute form (as proxies send it).
TEST_F(HostileClient, AbsoluteFormRequestTargetIsServed) {
  FlaggedExporter exporter(tmp_.path(), kConfig, {});
  const std::size_t rss = settled_rss(exporter);
  const std::string answer = http_raw(
      exporter.port(), "GET http://127.0.0.1:" + std::to_string(exporter.port()) +
                           "/metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(answer), 200) << answer.substr(0, 200);
  EXPECT_THAT(body_of(answer), HasSubstr("sip_target_up{"));
  expect_still_serving(exporter, rss);
}

// RFC 9112 3.2: an HTTP/1.1 request without Host, or with two, gets 400. HTTP/1.0 has none.
TEST_F(HostileClient, Http11WithoutOrWithTwoHostsIsRefused) {
  FlaggedExporter exporter(tmp_.path(), kConfig, {});
  const std::size_t rss = settled_rss(exporter);
  std::string answer = http_raw(exporter.port(), "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_of(answer), 400);
  EXPECT_THAT(body_of(answer), HasSubstr("missing Host header"));
  answer = http_raw(exporter.port(), "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  EXPECT_EQ(status_of(answer), 400);
  EXPECT_EQ(status_of(http_raw(exporter.port(), "GET /metrics HTTP/1.0\r\n\r\n")), 200);
  expect_still_serving(exporter, rss);
}

}  // namespace
}  // namespace stx::it
