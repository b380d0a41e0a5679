#include "exporter/status_page.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stx {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kNow = 1'800'000'000;  // 2027-01-15 08:00:00 UTC

TargetStatus up_target(std::string name = "alpha") {
  TargetStatus t;
  t.name = std::move(name);
  t.uri = "sip:10.0.0.1:5060";
  t.labels = {{"carrier", "acme"}, {"site", "fra"}};
  t.state = "up";
  t.last_code = 200;
  t.last_rtt_seconds = 0.0123;
  t.consecutive_failures = 0;
  t.last_change_unix = kNow - 192;  // 3m 12s
  t.server = "Kamailio 5.6";
  t.recent_rtts = {0.010, 0.011, -1, 0.0123};
  ExchangeRecord e;
  e.unix_time = kNow - 4.5;
  e.success = true;
  e.code = 200;
  e.rtt_seconds = 0.0123;
  e.duration_seconds = 0.0124;
  e.transmissions = 1;
  e.request = "OPTIONS sip:10.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n\r\n";
  e.response = "SIP/2.0 200 OK\r\nServer: Kamailio 5.6\r\n\r\n";
  t.exchanges.push_back(e);
  return t;
}

TargetStatus down_target(std::string name = "bravo") {
  TargetStatus t;
  t.name = std::move(name);
  t.uri = "sip:10.0.0.2:5060";
  t.state = "down";
  t.last_code = 0;
  t.last_rtt_seconds = -1;
  t.consecutive_failures = 7;
  t.last_change_unix = kNow - 45;
  t.recent_rtts = {0.02, -1, -1, -1};
  ExchangeRecord e;
  e.unix_time = kNow - 1;
  e.success = false;
  e.code = 0;
  e.reason = "refused";
  e.duration_seconds = 0.0002;
  e.transmissions = 1;
  e.request = "OPTIONS sip:10.0.0.2:5060 SIP/2.0\r\n\r\n";
  t.exchanges.push_back(e);
  return t;
}

TargetStatus unknown_target(std::string name = "charlie") {
  TargetStatus t;
  t.name = std::move(name);
  t.uri = "sip:10.0.0.3:5060";
  t.state = "unknown";
  return t;
}

StatusSnapshot snapshot(std::vector<TargetStatus> targets) {
  StatusSnapshot s;
  s.now_unix = kNow;
  s.version = "0.1.0";
  s.revision = "abcdef123456";
  s.targets = std::move(targets);
  return s;
}

// The text a reader sees: tags (and SVG, whose <title> is only a tooltip) removed, the
// few entities the pages use decoded, whitespace collapsed.
std::string visible_text(std::string html) {
  html = std::regex_replace(html, std::regex("<style>[\\s\\S]*?</style>"), " ");
  html = std::regex_replace(html, std::regex("<svg[\\s\\S]*?</svg>"), " ");
  html = std::regex_replace(html, std::regex("<[^>]*>"), " ");
  for (auto [from, to] : {std::pair<std::string, std::string>{"&lt;", "<"},
                          {"&gt;", ">"},
                          {"&quot;", "\""},
                          {"&#39;", "'"},
                          {"&amp;", "&"}}) {
    html = std::regex_replace(html, std::regex(from), to);
  }
  html = std::regex_replace(html, std::regex("\\s+"), " ");
  return html;
}

// The <tr> whose link text is `name`.
std::string row_of(const std::string& html, const std::string& name) {
  const auto link = html.find(">" + name + "</a>");
  if (link == std::string::npos) return "";
  const auto start = html.rfind("<tr", link);
  const auto end = html.find("</tr>", link);
  return html.substr(start, end - start);
}

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) ++n;
  return n;
}

// Coordinates in the first <polyline points="..."> of `html`, or -1 when there is none.
int polyline_points(const std::string& html) {
  std::smatch m;
  if (!std::regex_search(html, m, std::regex("<polyline points=\"([^\"]*)\""))) return -1;
  const std::string pts = m[1];
  return static_cast<int>(std::count(pts.begin(), pts.end(), ','));
}

TEST(StatusPage, IsACompleteSelfContainedPageThatRefreshes) {
  const std::string html = render_status_page(snapshot({up_target()}));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_THAT(html, HasSubstr("<meta charset=\"utf-8\">"));
  EXPECT_THAT(html, HasSubstr("<meta http-equiv=\"refresh\" content=\"10\">"));
  EXPECT_THAT(html, HasSubstr("</html>"));
  // No external assets and nothing that needs JavaScript.
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("http://")));
}

TEST(StatusPage, DegradedHasItsOwnColourCountAndRankAfterDown) {
  TargetStatus busy = down_target("busy");
  busy.state = "degraded";
  busy.last_code = 503;
  const std::string html = render_status_page(snapshot({up_target("a"), busy, down_target("z")}));
  EXPECT_THAT(visible_text(html), HasSubstr("1 up, 1 degraded, 1 down, 0 unknown"));
  EXPECT_THAT(html, HasSubstr("<title>SIP trunks: 1 down, 1 degraded</title>"));
  EXPECT_THAT(html, HasSubstr("<span class=\"badge state-degraded\">degraded</span>"));
  EXPECT_THAT(html, HasSubstr("tr class=\"row-degraded\""));
  EXPECT_THAT(html, HasSubstr(".badge.state-degraded{background:var(--degraded)}"));
  EXPECT_LT(html.find(">z</a>"), html.find(">busy</a>")) << "down first, then degraded";
  EXPECT_LT(html.find(">busy</a>"), html.find(">a</a>"));
}

TEST(StatusPage, HeaderNamesTheShardOnlyWhenSharded) {
  StatusSnapshot s = snapshot({up_target("a")});
  EXPECT_THAT(render_status_page(s), Not(HasSubstr("id=\"shard\"")));
  s.shard = "1/3";
  EXPECT_THAT(render_status_page(s), HasSubstr("<span id=\"shard\">shard 1/3</span>"));
}

TEST(StatusPage, SummaryCountsEachState) {
  const std::string html = render_status_page(
      snapshot({up_target("a"), down_target("b"), unknown_target("c"), down_target("d")}));
  EXPECT_THAT(visible_text(html), HasSubstr("1 up, 0 degraded, 2 down, 1 unknown"));
  EXPECT_THAT(html, HasSubstr("<title>SIP trunks: 2 down</title>"));
}

TEST(StatusPage, UpRowShowsStateCodeRttFailuresChangeAndServer) {
  const std::string html = render_status_page(snapshot({up_target(), down_target()}));
  const std::string row = row_of(html, "alpha");
  ASSERT_FALSE(row.empty()) << html;
  EXPECT_THAT(row, HasSubstr("<span class=\"badge state-up\">up</span>"));
  const std::string text = visible_text(row);
  EXPECT_THAT(text, HasSubstr(" up "));
  EXPECT_THAT(text, HasSubstr(" 200 "));
  EXPECT_THAT(text, HasSubstr(" 12.3 ms "));
  EXPECT_THAT(text, HasSubstr(" 0 "));  // consecutive failures
  EXPECT_THAT(text, HasSubstr("3m 12s ago"));
  EXPECT_THAT(text, HasSubstr("Kamailio 5.6"));
  EXPECT_THAT(text, HasSubstr("sip:10.0.0.1:5060"));
}

TEST(StatusPage, DownRowShowsReasonWhenThereWasNoCode) {
  const std::string html = render_status_page(snapshot({up_target(), down_target()}));
  const std::string row = row_of(html, "bravo");
  ASSERT_FALSE(row.empty()) << html;
  EXPECT_THAT(row, HasSubstr("class=\"row-down\""));
  EXPECT_THAT(row, HasSubstr("<span class=\"badge state-down\">down</span>"));
  const std::string text = visible_text(row);
  EXPECT_THAT(text, HasSubstr(" refused "));
  EXPECT_THAT(text, HasSubstr(" 7 "));
  EXPECT_THAT(text, HasSubstr("45s ago"));
  EXPECT_THAT(text, Not(HasSubstr(" ms ")));  // no RTT without an answer
}

TEST(StatusPage, CodeIsZeroWhenNoExchangeNamesTheReason) {
  TargetStatus down = down_target();
  down.exchanges.clear();  // "/" may be rendered from a snapshot without exchanges
  TargetStatus fresh = unknown_target();
  const std::string html = render_status_page(snapshot({down, fresh}));
  // State, last code, last RTT, consecutive failures.
  EXPECT_THAT(visible_text(row_of(html, "bravo")), HasSubstr(" down 0 \xe2\x80\x93 7 "));
  EXPECT_THAT(
      row_of(html, "bravo"),
      HasSubstr(
          "<td class=\"num\"><span class=\"reason\" title=\"no final response\">0</span></td>"));
  EXPECT_THAT(row_of(html, "charlie"),
              HasSubstr("<td class=\"num\">\xe2\x80\x93</td><td class=\"num\">\xe2\x80\x93</td>"));
}

TEST(StatusPage, StateIsTextNotColourAlone) {
  const std::string html =
      render_status_page(snapshot({up_target(), down_target(), unknown_target()}));
  EXPECT_THAT(visible_text(row_of(html, "alpha")), HasSubstr(" up "));
  EXPECT_THAT(visible_text(row_of(html, "bravo")), HasSubstr(" down "));
  EXPECT_THAT(visible_text(row_of(html, "charlie")), HasSubstr(" unknown "));
  EXPECT_THAT(visible_text(row_of(html, "charlie")), HasSubstr("never"));
}

TEST(StatusPage, DownTargetsFirstThenByName) {
  const std::string html = render_status_page(snapshot(
      {up_target("a-up"), down_target("b-down"), unknown_target("c-unknown"), down_target("d")}));
  const auto pos = [&](const std::string& name) { return html.find(">" + name + "</a>"); };
  for (const char* n : {"a-up", "b-down", "c-unknown", "d"}) {
    ASSERT_NE(pos(n), std::string::npos) << n;
  }
  EXPECT_LT(pos("b-down"), pos("d"));
  EXPECT_LT(pos("d"), pos("a-up"));
  EXPECT_LT(pos("a-up"), pos("c-unknown"));
}

TEST(StatusPage, SparklineHasOnePointPerAnsweredProbeAndMarksFailures) {
  TargetStatus t = up_target();
  t.recent_rtts = {0.010, 0.012, -1, 0.011, -1, 0.009, 0.013};
  const std::string row = row_of(render_status_page(snapshot({t})), "alpha");
  EXPECT_THAT(row, HasSubstr("<svg class=\"spark\""));
  EXPECT_EQ(polyline_points(row), 5);
  EXPECT_EQ(count(row, "<line class=\"fail\""), 2u);
  EXPECT_THAT(row, HasSubstr("data-probes=\"7\" data-failed=\"2\""));
  EXPECT_THAT(row, HasSubstr("<title>last 7 probes: RTT 9.00 ms to 13.0 ms, 2 without answer"));

  // The highest RTT is drawn at the top, the lowest near the bottom.
  t.recent_rtts = {0.001, 0.004};
  const std::string two = row_of(render_status_page(snapshot({t})), "alpha");
  EXPECT_THAT(two, HasSubstr("points=\"2.0,17.0 118.0,2.0\""));
}

TEST(StatusPage, SparklineWithoutProbesSaysSo) {
  TargetStatus t = unknown_target();
  const std::string row = row_of(render_status_page(snapshot({t})), "charlie");
  EXPECT_EQ(polyline_points(row), -1);
  EXPECT_THAT(row, HasSubstr("no probes yet"));

  t.recent_rtts = {-1, -1};
  const std::string failed = row_of(render_status_page(snapshot({t})), "charlie");
  EXPECT_EQ(polyline_points(failed), -1);
  EXPECT_EQ(count(failed, "<line class=\"fail\""), 2u);
}

TEST(StatusPage, LinksToDetailsUrlEncodedAndToMetrics) {
  const std::string html =
      render_status_page(snapshot({up_target("edge a/b&c"), down_target("bravo")}));
  EXPECT_THAT(html, HasSubstr("<a href=\"target?name=edge%20a%2Fb%26c\">edge a/b&amp;c</a>"));
  EXPECT_THAT(html, HasSubstr("<a href=\"target?name=bravo\">bravo</a>"));
  EXPECT_THAT(html, HasSubstr("<a href=\"metrics\">Metrics</a>"));
}

TEST(StatusPage, PeerAndConfigTextIsInert) {
  TargetStatus t = up_target("<script>alert('name')</script>");
  t.server = "<script>alert(\"server\")</script><img src=x onerror=alert(1)>";
  t.uri = "sip:x@10.0.0.1;a=\"><script>alert(2)</script>";
  t.labels = {{"carrier", "</span><script>alert(3)</script>"}};
  t.exchanges[0].reason = "<b>bold</b>";
  t.exchanges[0].response = "SIP/2.0 200 OK\r\nServer: <script>alert(4)</script>\r\n\r\n";
  t.exchanges[0].request = "OPTIONS sip:x SIP/2.0\r\nFrom: </pre><script>alert(5)</script>\r\n";
  for (const std::string& html :
       {render_status_page(snapshot({t})), render_target_page(snapshot({t}), t)}) {
    std::string lower = html;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    EXPECT_THAT(lower, Not(HasSubstr("<script"))) << html;
    EXPECT_THAT(lower, Not(HasSubstr("<img"))) << html;
    EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert("));
  }
  const std::string status = render_status_page(snapshot({t}));
  EXPECT_THAT(status, HasSubstr("&lt;script&gt;alert(&quot;server&quot;)&lt;/script&gt;"));
  EXPECT_THAT(status, HasSubstr(">&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;</a>"));
  EXPECT_THAT(status,
              HasSubstr("href=\"target?name=%3Cscript%3Ealert%28%27name%27%29%3C%2Fscript%3E\""));
  // The page title names the target on the detail page, escaped too.
  EXPECT_THAT(render_target_page(snapshot({t}), t),
              HasSubstr("<title>&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt; "));
}

TEST(StatusPage, EmptyStateSaysThereAreNoTargets) {
  const std::string html = render_status_page(snapshot({}));
  EXPECT_THAT(visible_text(html), HasSubstr("0 up, 0 degraded, 0 down, 0 unknown"));
  EXPECT_THAT(visible_text(html), HasSubstr("No targets are configured."));
  EXPECT_THAT(html, Not(HasSubstr("<table")));
  EXPECT_THAT(html, HasSubstr("<meta http-equiv=\"refresh\" content=\"10\">"));
}

TEST(StatusPage, HumanDurationsAndRtts) {
  const struct {
    double ago;
    const char* text;
  } durations[] = {{0, "0s ago"},
                   {59.9, "59s ago"},
                   {192, "3m 12s ago"},
                   {3600 * 2 + 300, "2h 05m ago"},
                   {86400 * 4 + 3 * 3600 + 59, "4d 3h ago"},
                   {-5, "0s ago"}};
  for (const auto& d : durations) {
    TargetStatus t = up_target();
    t.last_change_unix = kNow - d.ago;
    EXPECT_THAT(visible_text(row_of(render_status_page(snapshot({t})), "alpha")), HasSubstr(d.text))
        << d.ago;
  }
  const struct {
    double seconds;
    const char* text;
  } rtts[] = {
      {0.00042, " 0.42 ms "}, {0.0123, " 12.3 ms "}, {0.25, " 250 ms "}, {1.5, " 1500 ms "}};
  for (const auto& r : rtts) {
    TargetStatus t = up_target();
    t.last_rtt_seconds = r.seconds;
    EXPECT_THAT(visible_text(row_of(render_status_page(snapshot({t})), "alpha")), HasSubstr(r.text))
        << r.seconds;
  }
}

TEST(TargetPage, AddressesShowTheirStateAndARunningRetryAfterPause) {
  TargetStatus t = down_target("busy");
  t.state = "degraded";
  AddressStatus paused;
  paused.address = "192.0.2.7:5060";
  paused.transport = "udp";
  paused.state = "degraded";
  paused.last_code = 503;
  paused.paused_until_unix = kNow + 90;
  AddressStatus over = paused;  // a pause that has run out says nothing
  over.address = "192.0.2.8:5060";
  over.paused_until_unix = kNow - 1;
  t.addresses = {paused, over};
  const std::string html = render_target_page(snapshot({t}), t);
  const auto address_row = [&](const std::string& address) {
    const auto at = html.find(">" + address + "</td>");
    if (at == std::string::npos) return std::string();
    const auto start = html.rfind("<tr", at);
    return html.substr(start, html.find("</tr>", at) - start);
  };
  EXPECT_THAT(visible_text(address_row("192.0.2.7:5060")),
              HasSubstr("degraded Retry-After: no probe for 1m 30s"));
  EXPECT_THAT(visible_text(address_row("192.0.2.8:5060")), HasSubstr("degraded"));
  EXPECT_THAT(visible_text(address_row("192.0.2.8:5060")), Not(HasSubstr("Retry-After")));
}

TEST(TargetPage, ShowsLabelsUriStateAndFacts) {
  const TargetStatus t = up_target();
  const std::string html = render_target_page(snapshot({t, down_target()}), t);
  const std::string text = visible_text(html);
  EXPECT_THAT(html, HasSubstr("<h1>alpha <span class=\"badge state-up\">up</span></h1>"));
  EXPECT_THAT(text, HasSubstr("URI sip:10.0.0.1:5060"));
  EXPECT_THAT(text, HasSubstr("Labels carrier=\"acme\" site=\"fra\""));
  EXPECT_THAT(text, HasSubstr("Last code 200"));
  EXPECT_THAT(text, HasSubstr("Last RTT 12.3 ms"));
  EXPECT_THAT(text, HasSubstr("Consecutive failures 0"));
  EXPECT_THAT(text, HasSubstr("Last change 3m 12s ago"));
  EXPECT_THAT(text, HasSubstr("Server Kamailio 5.6"));
  EXPECT_EQ(polyline_points(html), 3);
  EXPECT_THAT(html, HasSubstr("<a href=\"./\">"));  // back to "/"
  EXPECT_THAT(html, HasSubstr("<a href=\"metrics\">Metrics</a>"));
  EXPECT_THAT(html, Not(HasSubstr("http-equiv=\"refresh\"")));  // stays put while reading
  EXPECT_THAT(text, Not(HasSubstr("bravo")));
}

TEST(TargetPage, ListsEachExchangeNewestFirstWithRequestAndResponse) {
  TargetStatus t = up_target();
  ExchangeRecord timeout;
  timeout.unix_time = kNow - 14.5;
  timeout.success = false;
  timeout.reason = "timeout";
  timeout.duration_seconds = 5;
  timeout.transmissions = 7;
  timeout.request = "OPTIONS sip:10.0.0.1:5060 SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n";
  ExchangeRecord busy;
  busy.unix_time = kNow - 24.5;
  busy.success = false;
  busy.code = 503;
  busy.rtt_seconds = 0.0031;
  busy.duration_seconds = 0.0032;
  busy.transmissions = 2;
  busy.request = "OPTIONS sip:10.0.0.1:5060 SIP/2.0\r\nCSeq: 2 OPTIONS\r\n\r\n";
  busy.response = "SIP/2.0 503 Service Unavailable\r\n\r\n";
  t.exchanges.push_back(timeout);
  t.exchanges.push_back(busy);

  const std::string html = render_target_page(snapshot({t}), t);
  const std::string text = visible_text(html);
  EXPECT_THAT(text, HasSubstr("Last 3 exchanges, newest first"));
  EXPECT_EQ(count(html, "<article class=\"exchange"), 3u);

  const auto ok = text.find(
      "2027-01-15 07:59:55.500 UTC success code 200 RTT 12.3 ms took 12.4 ms "
      "1 transmission 4s ago");
  const auto to = text.find(
      "2027-01-15 07:59:45.500 UTC failure timeout RTT \xe2\x80\x93 took "
      "5.00 s 7 transmissions 14s ago");
  const auto b = text.find(
      "2027-01-15 07:59:35.500 UTC failure code 503 RTT 3.10 ms took 3.20 ms "
      "2 transmissions 24s ago");
  ASSERT_NE(ok, std::string::npos) << text;
  ASSERT_NE(to, std::string::npos) << text;
  ASSERT_NE(b, std::string::npos) << text;
  EXPECT_LT(ok, to);
  EXPECT_LT(to, b);

  EXPECT_THAT(html, HasSubstr("<pre class=\"request\">OPTIONS sip:10.0.0.1:5060 SIP/2.0\r\nVia: "
                              "SIP/2.0/UDP 127.0.0.1\r\n\r\n</pre>"));
  EXPECT_THAT(html, HasSubstr("<pre class=\"response\">SIP/2.0 200 OK\r\nServer: Kamailio 5.6"));
  EXPECT_THAT(html, HasSubstr("<pre class=\"response\">SIP/2.0 503 Service Unavailable"));
  EXPECT_EQ(count(html, "<pre class=\"request\">"), 3u);
  EXPECT_EQ(count(html, "<pre class=\"response\">"), 2u);
  EXPECT_THAT(text, HasSubstr("No final response."));
}

TEST(TargetPage, LeavesOutARequestTextItDoesNotHave) {
  TargetStatus t = up_target();
  ExchangeRecord older = t.exchanges[0];
  older.unix_time -= 10;
  older.request.clear();
  t.exchanges.push_back(older);
  const std::string html = render_target_page(snapshot({t}), t);
  EXPECT_EQ(count(html, "<article class=\"exchange"), 2u);
  EXPECT_EQ(count(html, "<pre class=\"request\">"), 1u);
  EXPECT_EQ(count(html, "<pre class=\"response\">"), 2u);
}

TEST(TargetPage, WithoutExchangesSaysSo) {
  const TargetStatus t = unknown_target();
  const std::string html = render_target_page(snapshot({t}), t);
  EXPECT_THAT(visible_text(html), HasSubstr("No probe has finished yet."));
  EXPECT_THAT(visible_text(html), HasSubstr("Labels none"));
  EXPECT_THAT(html, Not(HasSubstr("<pre")));
}

TEST(HtmlEscape, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(html_escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
  EXPECT_EQ(html_escape(""), "");
  EXPECT_EQ(html_escape("plain text \xc3\xa9"), "plain text \xc3\xa9");
  EXPECT_EQ(html_escape("&amp;"), "&amp;amp;");
}

TEST(TargetPage, ShowsTheCapabilitiesThePeerAdvertisedEscaped) {
  TargetStatus t = up_target();
  const std::string without = render_target_page(snapshot({t}), t);
  EXPECT_EQ(without.find("Capabilities"), std::string::npos) << "nothing advertised, no line";
  t.allow = "INVITE, ACK, OPTIONS";
  t.accept = "application/sdp<script>";
  const std::string html = render_target_page(snapshot({t}), t);
  EXPECT_THAT(visible_text(html), HasSubstr("Capabilities Allow: INVITE, ACK, OPTIONS"));
  EXPECT_THAT(html, HasSubstr("Accept:</span> application/sdp&lt;script&gt;"));
  EXPECT_EQ(html.find("Supported:"), std::string::npos);
}

}  // namespace
}  // namespace stx
