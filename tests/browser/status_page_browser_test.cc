// The status pages in a real browser: Debian's headless Chromium loads them and the tests check
// what a person sees there (the serialized DOM after parsing, and a screenshot).
//
// StatusPageFixture renders the pages from a made-up snapshot into files, so it checks how
// Chromium reads our HTML without an exporter. LiveStatusPage starts the real exporter with a
// SIPp UAS (up) and a closed loopback port (down) and browses to "/" and the detail pages.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporter/status_page.h"
#include "harness.h"

namespace stx::it {
namespace {

namespace fs = std::filesystem;
using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

// ---------------------------------------------------------------------------
// Chromium

// Runs `chromium --headless` once per call, each time with a fresh profile, bounded in time.
class Browser {
 public:
  explicit Browser(fs::path dir) : dir_(std::move(dir)), binary_(require_tool("chromium")) {}

  // The DOM after the page loaded, serialized.
  std::string dump_dom(const std::string& url) {
    auto r = run({"--dump-dom", url});
    if (r.out.find("<html") == std::string::npos) {
      throw std::runtime_error("chromium --dump-dom " + url + " printed no document:\n" +
                               tail_lines(r.out, 20) + tail_lines(r.err, 40));
    }
    return r.out;
  }

  // A screenshot of the viewport, `width` x `height`.
  void screenshot(const std::string& url, const fs::path& png, int width, int height) {
    run({"--screenshot=" + png.string(),
         "--window-size=" + std::to_string(width) + "," + std::to_string(height),
         "--hide-scrollbars", url});
  }

 private:
  RunResult run(std::vector<std::string> extra) {
    const fs::path profile = dir_ / ("chromium-profile-" + std::to_string(++runs_));
    fs::create_directories(profile);
    std::vector<std::string> argv = {binary_.string(),
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-dev-shm-usage",
                                     "--disable-quic",
                                     "--no-first-run",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--disable-extensions",
                                     "--user-data-dir=" + profile.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = run_command("chromium", argv, dir_, 90s);
    if (r.exit_code != 0) {
      throw std::runtime_error("chromium " + describe_wait_status(r.status) + ":\n" +
                               tail_lines(r.err, 40));
    }
    return r;
  }

  fs::path dir_;
  fs::path binary_;
  int runs_ = 0;
};

// ---------------------------------------------------------------------------
// Reading the DOM as a person reads the page

std::string decode_entities(std::string s) {
  static const std::pair<const char*, const char*> kEntities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&nbsp;", " "}};
  for (const auto& [from, to] : kEntities) {
    for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + 1)) {
      s.replace(pos, std::string_view(from).size(), to);
    }
  }
  // Last, so "&amp;lt;" becomes "&lt;" and not "<".
  for (auto pos = s.find("&amp;"); pos != std::string::npos; pos = s.find("&amp;", pos + 1)) {
    s.replace(pos, 5, "&");
  }
  return s;
}

// Text as rendered: no head, style or SVG (its <title> is a tooltip), tags as spaces,
// whitespace collapsed and trimmed.
std::string visible_text(std::string html) {
  html = std::regex_replace(html, std::regex("<head[\\s\\S]*?</head>"), " ");
  html = std::regex_replace(html, std::regex("<style[\\s\\S]*?</style>"), " ");
  html = std::regex_replace(html, std::regex("<svg[\\s\\S]*?</svg>"), " ");
  html = std::regex_replace(html, std::regex("<[^>]*>"), " ");
  html = decode_entities(html);
  html = std::regex_replace(html, std::regex("\\s+"), " ");
  const auto b = html.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  return html.substr(b, html.find_last_not_of(' ') - b + 1);
}

struct Link {
  std::string href;  // decoded attribute value
  std::string text;
};

std::vector<Link> links(const std::string& html) {
  std::vector<Link> out;
  static const std::regex re("<a [^>]*href=\"([^\"]*)\"[^>]*>([\\s\\S]*?)</a>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back({decode_entities((*it)[1]), visible_text((*it)[2])});
  }
  return out;
}

// The <pre> blocks' text, in document order.
std::vector<std::string> pre_blocks(const std::string& html) {
  std::vector<std::string> out;
  static const std::regex re("<pre[^>]*>([\\s\\S]*?)</pre>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back(decode_entities(std::regex_replace((*it)[1].str(), std::regex("<[^>]*>"), "")));
  }
  return out;
}

struct Cell {
  std::string html;
  std::string text;
};

// One table row, its cells by column heading.
struct Row {
  std::size_t index = 0;  // position in the table body
  std::map<std::string, Cell> cells;
  const Cell& operator[](const std::string& heading) const {
    static const Cell kMissing{"", "<no column " + heading + ">"};
    auto it = cells.find(heading);
    return it == cells.end() ? kMissing : it->second;
  }
};

struct Table {
  std::vector<std::string> headings;
  std::vector<Row> rows;
  // The row whose first cell links with text `name`; throws when there is none.
  const Row& row(const std::string& name) const {
    for (const auto& r : rows) {
      for (const auto& l : links(r[headings.at(0)].html)) {
        if (l.text == name) return r;
      }
    }
    throw std::runtime_error("no table row for target " + name);
  }
};

// The first <table> of the document.
Table parse_table(const std::string& html) {
  Table t;
  std::smatch m;
  if (!std::regex_search(html, m, std::regex("<table[\\s\\S]*?</table>"))) {
    throw std::runtime_error("no <table> in the page:\n" + visible_text(html));
  }
  const std::string table = m[0];
  static const std::regex row_re("<tr[^>]*>([\\s\\S]*?)</tr>");
  static const std::regex cell_re("<(t[hd])[^>]*>([\\s\\S]*?)</t[hd]>");
  for (auto r = std::sregex_iterator(table.begin(), table.end(), row_re);
       r != std::sregex_iterator(); ++r) {
    const std::string row_html = (*r)[1];
    std::vector<std::pair<std::string, Cell>> cells;
    for (auto c = std::sregex_iterator(row_html.begin(), row_html.end(), cell_re);
         c != std::sregex_iterator(); ++c) {
      cells.emplace_back((*c)[1], Cell{(*c)[2], visible_text((*c)[2])});
    }
    if (!cells.empty() && cells[0].first == "th" && t.headings.empty()) {
      for (const auto& [tag, cell] : cells) t.headings.push_back(cell.text);
      continue;
    }
    Row row;
    row.index = t.rows.size();
    for (std::size_t i = 0; i < cells.size() && i < t.headings.size(); ++i) {
      row.cells[t.headings[i]] = cells[i].second;
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

// `href` as the browser resolves it on the page at `base` (an http URL ending in a path).
std::string resolve(const std::string& base, const std::string& href) {
  if (href.rfind("http://", 0) == 0 || href.rfind("https://", 0) == 0) return href;
  const auto origin_end = base.find('/', base.find("://") + 3);
  if (!href.empty() && href[0] == '/') return base.substr(0, origin_end) + href;
  std::string dir = base.substr(0, base.find('?'));
  dir = dir.substr(0, dir.rfind('/') + 1);
  std::string rel = href;
  while (rel.rfind("./", 0) == 0) rel = rel.substr(2);
  return dir + rel;
}

std::string path_of(const std::string& url) {
  return url.substr(url.find('/', url.find("://") + 3));
}

// What makes a PNG: signature, IHDR size; the file size hints that it is not blank.
struct Png {
  std::uint32_t width = 0, height = 0;
  std::size_t bytes = 0;
};

Png read_png(const fs::path& file) {
  const std::string data = read_file(file);
  if (data.size() < 24 || data.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0 ||
      data.compare(12, 4, "IHDR") != 0) {
    throw std::runtime_error(file.string() + " is not a PNG (" + std::to_string(data.size()) +
                             " bytes)");
  }
  auto be32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(data[at + i]);
    return v;
  };
  return {be32(16), be32(20), data.size()};
}

// ---------------------------------------------------------------------------
// The pages from a fixture snapshot, as files

constexpr double kNow = 1'800'000'000;

StatusSnapshot fixture_snapshot() {
  StatusSnapshot s;
  s.now_unix = kNow;
  s.version = "0.1.0";
  s.revision = "fixture";
  TargetStatus up;
  up.name = "carrier a/1";
  up.uri = "sip:192.0.2.10:5060";
  up.labels = {{"carrier", "a"}};
  up.state = "up";
  up.last_code = 200;
  up.last_rtt_seconds = 0.0214;
  up.last_change_unix = kNow - 192;
  // Run by the page's own script if it were not escaped: the test checks the title stays.
  up.server = "<script>document.title='pwned'</script>Kamailio";
  up.recent_rtts = {0.020, 0.022, -1, 0.019, 0.0214};
  ExchangeRecord e;
  e.unix_time = kNow - 3;
  e.success = true;
  e.code = 200;
  e.rtt_seconds = 0.0214;
  e.duration_seconds = 0.0215;
  e.transmissions = 1;
  e.request = "OPTIONS sip:192.0.2.10:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060\r\n\r\n";
  e.response = "SIP/2.0 200 OK\r\nServer: <script>document.title='pwned'</script>\r\n\r\n";
  up.exchanges.push_back(e);
  TargetStatus down;
  down.name = "carrier b";
  down.uri = "sip:192.0.2.20:5060";
  down.state = "down";
  down.consecutive_failures = 4;
  down.last_change_unix = kNow - 45;
  down.recent_rtts = {0.031, -1, -1, -1, -1};
  ExchangeRecord f;
  f.unix_time = kNow - 1;
  f.reason = "timeout";
  f.duration_seconds = 5;
  f.transmissions = 7;
  f.request = "OPTIONS sip:192.0.2.20:5060 SIP/2.0\r\n\r\n";
  down.exchanges.push_back(f);
  s.targets = {up, down};
  return s;
}

TEST(StatusPageFixture, ChromiumShowsTheTableTheSummaryAndInertPeerText) {
  TempDir tmp("stx-browser");
  Browser browser(tmp.path());
  const StatusSnapshot s = fixture_snapshot();
  write_file(tmp / "index.html", render_status_page(s));
  write_file(tmp / "detail.html", render_target_page(s, s.targets[0]));

  const std::string dom = browser.dump_dom("file://" + (tmp / "index.html").string());
  EXPECT_THAT(visible_text(dom), HasSubstr("1 up, 0 degraded, 1 down, 0 unknown"));
  EXPECT_THAT(dom, HasSubstr("<title>SIP trunks: 1 down</title>")) << "a script ran";
  EXPECT_THAT(dom, Not(HasSubstr("<script")));

  const Table table = parse_table(dom);
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_THAT(table.headings,
              ::testing::ElementsAre("Target", "State", "Last code", "Last RTT", "Recent RTT",
                                     "Consecutive failures", "Last change", "Server"));
  const Row& up = table.row("carrier a/1");
  const Row& down = table.row("carrier b");
  EXPECT_LT(down.index, up.index) << "down targets come first";
  EXPECT_EQ(up["State"].text, "up");
  EXPECT_EQ(up["Last code"].text, "200");
  EXPECT_EQ(up["Last RTT"].text, "21.4 ms");
  EXPECT_EQ(up["Last change"].text, "3m 12s ago");
  EXPECT_EQ(up["Server"].text, "<script>document.title='pwned'</script>Kamailio");
  EXPECT_THAT(up["Recent RTT"].html, HasSubstr("<polyline"));
  EXPECT_EQ(down["State"].text, "down");
  EXPECT_EQ(down["Last code"].text, "timeout");
  EXPECT_EQ(down["Consecutive failures"].text, "4");
  EXPECT_EQ(down["Last RTT"].text, "\xe2\x80\x93");

  const auto up_links = links(up["Target"].html);
  ASSERT_FALSE(up_links.empty());
  EXPECT_EQ(up_links[0].href, "target?name=carrier%20a%2F1");

  const std::string detail = browser.dump_dom("file://" + (tmp / "detail.html").string());
  EXPECT_THAT(detail, Not(HasSubstr("<script")));
  EXPECT_THAT(detail, HasSubstr("<title>carrier a/1 \xe2\x80\x93 SIP Trunk Exporter</title>"));
  EXPECT_THAT(visible_text(detail), HasSubstr("carrier a/1 up"));
  const auto pres = pre_blocks(detail);
  ASSERT_EQ(pres.size(), 2u) << detail;
  EXPECT_THAT(pres[0], StartsWith("OPTIONS sip:192.0.2.10:5060 SIP/2.0\n"));
  EXPECT_THAT(pres[1], StartsWith("SIP/2.0 200 OK\nServer: <script>"));

  const fs::path png = tmp / "fixture.png";
  browser.screenshot("file://" + (tmp / "index.html").string(), png, 1280, 800);
  const Png p = read_png(png);
  EXPECT_EQ(p.width, 1280u);
  EXPECT_EQ(p.height, 800u);
}

// ---------------------------------------------------------------------------
// The live exporter

constexpr const char* kUp = "sipp uas/200";
constexpr const char* kDown = "closed-port";

class LiveStatusPage : public ::testing::Test {
 protected:
  void SetUp() override {
    sipp_ = std::make_unique<SippPeer>(tmp_.path(), "options_200.xml");
    dead_port_ = free_udp_port();
    ExporterConfigSpec spec;
    spec.interval = "1s";
    spec.timeout = "800ms";
    spec.failures_before_down = 1;
    spec.targets = {{kUp, sipp_->uri(), {{"carrier", "sipp"}}, {}},
                    {kDown, "sip:127.0.0.1:" + std::to_string(dead_port_), {}, {}}};
    exporter_ = std::make_unique<Exporter>(tmp_.path(), spec, "info");
    // Both states known, and a few answered probes for the sparkline.
    auto scraped = exporter_->scrape_until(30s, [](const Exposition& e) {
      return e.value("sip_target_up", {{"target", kUp}}) == 1.0 &&
             e.value("sip_target_up", {{"target", kDown}}) == 0.0 &&
             e.value("sip_target_last_change_timestamp_seconds", {{"target", kUp}}) > 0 &&
             e.value("sip_target_last_change_timestamp_seconds", {{"target", kDown}}) > 0 &&
             e.sum("sip_probes_total", {{"target", kUp}}) >= 3;
    });
    ASSERT_TRUE(scraped.ok) << "states not known within 30 s:\n"
                            << scraped.last.grep("sip_target_") << scraped.last.grep("sip_probes");
    browser_ = std::make_unique<Browser>(tmp_.path());
    base_ = "http://127.0.0.1:" + std::to_string(exporter_->port()) + "/";
  }

  TempDir tmp_{"stx-browser"};
  std::unique_ptr<SippPeer> sipp_;
  std::uint16_t dead_port_ = 0;
  std::unique_ptr<Exporter> exporter_;
  std::unique_ptr<Browser> browser_;
  std::string base_;
};

TEST_F(LiveStatusPage, ShowsTheUpAndTheDownTarget) {
  const std::string dom = browser_->dump_dom(base_);
  EXPECT_THAT(visible_text(dom), HasSubstr("1 up, 0 degraded, 1 down, 0 unknown"));
  EXPECT_THAT(dom, HasSubstr("http-equiv=\"refresh\""));
  const Table table = parse_table(dom);
  ASSERT_EQ(table.rows.size(), 2u) << visible_text(dom);
  const Row& up = table.row(kUp);
  const Row& down = table.row(kDown);
  EXPECT_LT(down.index, up.index) << "down targets come first";

  EXPECT_EQ(up["State"].text, "up");
  EXPECT_EQ(up["Last code"].text, "200");
  EXPECT_THAT(up["Last RTT"].text, MatchesRegex("[0-9]+(\\.[0-9]+)? ms"));
  EXPECT_EQ(up["Consecutive failures"].text, "0");
  EXPECT_THAT(up["Last change"].text, MatchesRegex("[0-9dhms ]+ ago"));
  EXPECT_THAT(up["Server"].text, HasSubstr("SIPp-demo"));
  EXPECT_THAT(up["Target"].text, HasSubstr(sipp_->uri()));
  EXPECT_THAT(up["Recent RTT"].html, HasSubstr("<polyline"));

  EXPECT_EQ(down["State"].text, "down");
  EXPECT_THAT(down["Last code"].text, AnyOf(Eq("refused"), Eq("0")));
  EXPECT_THAT(down["Last RTT"].text, Not(HasSubstr("ms")));
  EXPECT_THAT(down["Last change"].text, MatchesRegex("[0-9dhms ]+ ago"));
}

TEST_F(LiveStatusPage, LinksLeadToTheDetailPagesAndTheMetrics) {
  const std::string dom = browser_->dump_dom(base_);
  const Table table = parse_table(dom);

  // The up target: its last exchange, the OPTIONS as sent and SIPp's 200 OK.
  const auto up_links = links(table.row(kUp)["Target"].html);
  ASSERT_FALSE(up_links.empty());
  const std::string up_url = resolve(base_, up_links[0].href);
  EXPECT_THAT(up_url, StartsWith(base_ + "target?name="));
  const std::string up_dom = browser_->dump_dom(up_url);
  const std::string up_text = visible_text(up_dom);
  EXPECT_THAT(up_text, HasSubstr(std::string(kUp) + " up"));
  EXPECT_THAT(up_text, HasSubstr(sipp_->uri()));
  EXPECT_THAT(up_text, HasSubstr("carrier=\"sipp\""));
  const auto pres = pre_blocks(up_dom);
  ASSERT_FALSE(pres.empty()) << up_text;
  EXPECT_THAT(pres[0], StartsWith("OPTIONS " + sipp_->uri() + " SIP/2.0\n"));
  EXPECT_TRUE(std::any_of(pres.begin(), pres.end(), [](const std::string& p) {
    return p.rfind("SIP/2.0 200 OK\n", 0) == 0;
  })) << up_text;

  // The down target: the request went out, nothing came back.
  const auto down_links = links(table.row(kDown)["Target"].html);
  ASSERT_FALSE(down_links.empty());
  const std::string down_dom = browser_->dump_dom(resolve(base_, down_links[0].href));
  EXPECT_THAT(visible_text(down_dom), HasSubstr(std::string(kDown) + " down"));
  const auto down_pres = pre_blocks(down_dom);
  ASSERT_FALSE(down_pres.empty()) << visible_text(down_dom);
  EXPECT_THAT(down_pres[0],
              StartsWith("OPTIONS sip:127.0.0.1:" + std::to_string(dead_port_) + " SIP/2.0\n"));

  // "Metrics" leads to the exposition.
  const auto all = links(dom);
  const auto metrics =
      std::find_if(all.begin(), all.end(), [](const Link& l) { return l.text == "Metrics"; });
  ASSERT_NE(metrics, all.end());
  const auto r = exporter_->get(path_of(resolve(base_, metrics->href)));
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("sip_target_up"));

  // A name that is not configured.
  EXPECT_EQ(exporter_->get("/target?name=no-such-target").status, 404);
}

TEST_F(LiveStatusPage, ScreenshotIsAPng) {
  const fs::path png = tmp_ / "status.png";
  browser_->screenshot(base_, png, 1280, 800);
  const Png p = read_png(png);
  EXPECT_EQ(p.width, 1280u);
  EXPECT_EQ(p.height, 800u);
  EXPECT_GT(p.bytes, 10'000u) << "a page with a table is more than a blank image";
}

}  // namespace
}  // namespace stx::it
