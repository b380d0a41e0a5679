#include "exporter/status_page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace stx {
namespace {

// Inline so the pages need nothing else: no fonts, scripts or stylesheets from anywhere.
constexpr std::string_view kStyle = R"css(
:root{--up:#1a7f37;--down:#cf222e;--degraded:#bc4c00;--unknown:#59636e;--muted:#59636e;--line:#d0d7de}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;
padding:1.2em 1.6em;color:#1f2328;background:#fff;font-size:15px}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.4em 1.4em;margin-bottom:.8em}
h1{font-size:1.35em;margin:0}
h2{font-size:1.1em;margin:1.4em 0 .5em}
a{color:#0550ae}
nav a{margin-right:1em}
.summary{font-size:1.05em;margin:.4em 0 1em}
.summary .n{font-weight:600}
.muted,.uri{color:var(--muted)}
.uri{font-size:.85em;font-family:ui-monospace,"DejaVu Sans Mono",monospace;word-break:break-all}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.45em .6em;border-bottom:1px solid var(--line);vertical-align:middle}
th{font-size:.8em;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);
border-bottom:2px solid var(--line)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.row-down td{background:#ffebe9}
tr.row-degraded td{background:#fff1e5}
td.name a{font-weight:600}
td.name .uri,td.when{white-space:nowrap}
h1 .badge{font-size:.6em;vertical-align:middle}
.badge{display:inline-block;min-width:5.2em;text-align:center;padding:.12em .6em;
border-radius:1em;color:#fff;font-weight:600;font-size:.85em}
.badge.state-up{background:var(--up)}
.badge.state-down{background:var(--down)}
.badge.state-degraded{background:var(--degraded)}
.badge.state-unknown{background:var(--unknown)}
.reason{color:var(--down);font-weight:600}
svg.spark{display:block}
svg.spark polyline{fill:none;stroke:#0969da;stroke-width:1.5}
svg.spark circle{fill:#0969da}
svg.spark line.fail{stroke:var(--down);stroke-width:2}
svg.spark line.base{stroke:var(--line);stroke-width:1}
.empty{padding:1.5em;border:1px dashed var(--line);border-radius:6px;color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.35em 1.2em;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
.label{display:inline-block;margin:0 .4em .2em 0;padding:0 .4em;border:1px solid var(--line);
border-radius:4px;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.85em}
article.exchange{border:1px solid var(--line);border-radius:6px;margin:0 0 .8em;padding:.6em .8em}
article.exchange h3{font-size:1em;margin:0 0 .4em;font-weight:normal;display:flex;flex-wrap:wrap;
gap:.3em 1.2em;align-items:baseline}
article.exchange-fail{border-left:4px solid var(--down)}
article.exchange-ok{border-left:4px solid var(--up)}
pre{background:#f6f8fa;border:1px solid var(--line);border-radius:4px;padding:.5em .7em;
margin:.3em 0 .6em;overflow-x:auto;font-size:.85em;white-space:pre-wrap;word-break:break-all}
footer{margin-top:2em;font-size:.85em;color:var(--muted)}
)css";

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// "0.42 ms", "12.3 ms", "250 ms"; "–" when there is no RTT.
std::string format_rtt(double seconds) {
  if (seconds < 0 || !std::isfinite(seconds)) return "\xe2\x80\x93";
  const double ms = seconds * 1000.0;
  if (ms < 10) return fixed(ms, 2) + " ms";
  if (ms < 100) return fixed(ms, 1) + " ms";
  return fixed(ms, 0) + " ms";
}

// How long a probe took: "850 ms", "5.00 s".
std::string format_duration(double seconds) {
  if (seconds >= 1 && std::isfinite(seconds)) return fixed(seconds, 2) + " s";
  return format_rtt(seconds);
}

// "45s", "3m 12s", "2h 05m", "4d 3h".
std::string human_duration(double seconds) {
  long s = seconds > 0 && std::isfinite(seconds) ? static_cast<long>(seconds) : 0;
  char buf[64];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%lds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%ldm %lds", s / 60, s % 60);
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%ldh %02ldm", s / 3600, (s % 3600) / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ldd %ldh", s / 86400, (s % 86400) / 3600);
  }
  return buf;
}

// "2026-11-21 05:54:30 UTC" (with milliseconds when asked).
std::string utc_time(double unix_time, bool millis = false) {
  if (!(unix_time > 0) || !std::isfinite(unix_time)) return "\xe2\x80\x93";
  const auto whole = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&whole, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::string out = buf;
  if (millis) {
    int ms = static_cast<int>((unix_time - static_cast<double>(whole)) * 1000.0);
    std::snprintf(buf, sizeof buf, ".%03d", std::clamp(ms, 0, 999));
    out += buf;
  }
  return out + " UTC";
}

std::string iso_time(double unix_time) {
  const auto whole = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&whole, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// <time> showing "3m 12s ago" with the absolute time as its tooltip.
std::string time_ago(double then, double now) {
  if (!(then > 0)) return "<span class=\"muted\">never</span>";
  return "<time datetime=\"" + iso_time(then) + "\" title=\"" + utc_time(then) + "\">" +
         human_duration(now - then) + " ago</time>";
}

// Percent-encodes everything but RFC 3986 unreserved characters, for a query value.
std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Relative by default, so the pages also work behind a reverse proxy that adds a path
// prefix: from "/" it resolves to "/target?name=...".
std::string target_href(const PageLinks& links, std::string_view name) {
  return links.base + "target?name=" + url_encode(name);
}

// `<a href="...">text</a>` to a route under links.base.
std::string link(const PageLinks& links, std::string_view route, std::string_view text) {
  return "<a href=\"" + html_escape(links.base + std::string(route)) + "\">" + std::string(text) +
         "</a>";
}

std::string home_link(const PageLinks& links, std::string_view text) {
  return links.base.empty() ? link(links, "./", text) : link(links, "", text);
}

std::string state_class(std::string_view state) {
  if (state == "up" || state == "down" || state == "degraded") return "state-" + std::string(state);
  return "state-unknown";
}

std::string badge(std::string_view state) {
  const std::string_view text = state.empty() ? std::string_view("unknown") : state;
  return "<span class=\"badge " + state_class(state) + "\">" + html_escape(text) + "</span>";
}

// The final code; without one, the failure reason from the newest exchange, else "0".
std::string code_or_reason(const TargetStatus& t) {
  if (t.last_code > 0) return std::to_string(t.last_code);
  if (!t.exchanges.empty() && t.exchanges.front().code == 0 && !t.exchanges.front().reason.empty())
    return "<span class=\"reason\">" + html_escape(t.exchanges.front().reason) + "</span>";
  // Probed, but the snapshot carries no exchange to name the reason.
  if (!t.recent_rtts.empty()) return "<span class=\"reason\" title=\"no final response\">0</span>";
  return "\xe2\x80\x93";
}

// Inline SVG: a polyline through the answered probes (oldest left), a red tick for each probe
// without an answer, a dot on the newest answered one. The <title> says it in words.
std::string sparkline(const std::vector<double>& rtts, int width, int height) {
  const std::size_t n = rtts.size();
  std::size_t failed = 0;
  double max_rtt = 0, min_rtt = -1;
  for (double r : rtts) {
    if (r < 0 || !std::isfinite(r)) {
      ++failed;
      continue;
    }
    max_rtt = std::max(max_rtt, r);
    min_rtt = min_rtt < 0 ? r : std::min(min_rtt, r);
  }
  std::string title;
  if (n == 0) {
    title = "no probes yet";
  } else {
    title = "last " + std::to_string(n) + (n == 1 ? " probe" : " probes");
    if (n > failed) title += ": RTT " + format_rtt(min_rtt) + " to " + format_rtt(max_rtt);
    if (failed > 0) title += ", " + std::to_string(failed) + " without answer";
  }
  const double pad = 2.0;
  const double w = width, h = height;
  auto x_at = [&](std::size_t i) {
    return n <= 1 ? w / 2
                  : pad + (w - 2 * pad) * static_cast<double>(i) / static_cast<double>(n - 1);
  };
  auto y_at = [&](double r) {
    return max_rtt > 0 ? (h - pad) - (h - 2 * pad) * r / max_rtt : h / 2;
  };

  std::string svg = "<svg class=\"spark\" width=\"" + std::to_string(width) + "\" height=\"" +
                    std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " +
                    std::to_string(height) + "\" role=\"img\" aria-label=\"" + html_escape(title) +
                    "\" data-probes=\"" + std::to_string(n) + "\" data-failed=\"" +
                    std::to_string(failed) + "\"><title>" + html_escape(title) + "</title>";
  svg += "<line class=\"base\" x1=\"0\" y1=\"" + fixed(h - 0.5, 1) + "\" x2=\"" + fixed(w, 1) +
         "\" y2=\"" + fixed(h - 0.5, 1) + "\"/>";
  std::string points;
  std::size_t last_ok = n;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = rtts[i];
    if (r < 0 || !std::isfinite(r)) {
      svg += "<line class=\"fail\" x1=\"" + fixed(x_at(i), 1) + "\" y1=\"" + fixed(pad, 1) +
             "\" x2=\"" + fixed(x_at(i), 1) + "\" y2=\"" + fixed(h - pad, 1) + "\"/>";
      continue;
    }
    if (!points.empty()) points += ' ';
    points += fixed(x_at(i), 1) + "," + fixed(y_at(r), 1);
    last_ok = i;
  }
  if (!points.empty()) svg += "<polyline points=\"" + points + "\"/>";
  if (last_ok < n) {
    svg += "<circle cx=\"" + fixed(x_at(last_ok), 1) + "\" cy=\"" + fixed(y_at(rtts[last_ok]), 1) +
           "\" r=\"2\"/>";
  }
  svg += "</svg>";
  return svg;
}

std::string page_head(std::string_view title, bool refresh) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  if (refresh) out += "<meta http-equiv=\"refresh\" content=\"10\">\n";
  out += "<title>" + html_escape(title) + "</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n";
  return out;
}

std::string page_foot(const StatusSnapshot& s, const PageLinks& links, std::string_view extra) {
  std::string out = "<footer>";
  out += extra;
  out += "Rendered " + utc_time(s.now_unix) + " \xc2\xb7 sip_trunk_exporter " +
         html_escape(s.version) + " (revision " + html_escape(s.revision) + ") \xc2\xb7 " +
         link(links, links.metrics, "Metrics") + " \xc2\xb7 " + link(links, "-/healthy", "Health") +
         "</footer>\n</body>\n</html>\n";
  return out;
}

// Worst first: down, then degraded, then the rest.
int state_rank(const TargetStatus& t) {
  if (t.state == "down") return 0;
  return t.state == "degraded" ? 1 : 2;
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_status_page(const StatusSnapshot& s, const PageLinks& links) {
  std::size_t up = 0, down = 0, degraded = 0, unknown = 0;
  for (const auto& t : s.targets) {
    if (t.state == "up") {
      ++up;
    } else if (t.state == "down") {
      ++down;
    } else if (t.state == "degraded") {
      ++degraded;
    } else {
      ++unknown;
    }
  }
  std::string title = "SIP trunks: " + std::to_string(down) + " down";
  if (degraded > 0) title += ", " + std::to_string(degraded) + " degraded";
  std::string out = page_head(title, true);
  out += "<header><h1>SIP Trunk Exporter</h1>";
  // A sharded replica shows only its share: say so, or a short list looks like a lost config.
  if (!s.shard.empty()) out += "<span id=\"shard\">shard " + html_escape(s.shard) + "</span>";
  out += "<nav>" + link(links, links.metrics, "Metrics") + link(links, "-/healthy", "Health") +
         "</nav></header>\n";
  out += "<main>\n<p class=\"summary\" id=\"summary\"><span class=\"n\">" + std::to_string(up) +
         "</span> up, <span class=\"n\">" + std::to_string(degraded) +
         "</span> degraded, <span class=\"n\">" + std::to_string(down) +
         "</span> down, <span class=\"n\">" + std::to_string(unknown) + "</span> unknown</p>\n";

  if (s.targets.empty()) {
    out +=
        "<p class=\"empty\" id=\"no-targets\">No targets are configured. Add <code>[[target]]"
        "</code> entries to the configuration file and restart the exporter.</p>\n";
  } else {
    std::vector<const TargetStatus*> order;
    order.reserve(s.targets.size());
    for (const auto& t : s.targets) order.push_back(&t);
    std::stable_sort(order.begin(), order.end(), [](const TargetStatus* a, const TargetStatus* b) {
      if (state_rank(*a) != state_rank(*b)) return state_rank(*a) < state_rank(*b);
      return a->name < b->name;
    });
    out +=
        "<table id=\"targets\">\n<thead><tr><th scope=\"col\">Target</th>"
        "<th scope=\"col\">State</th><th scope=\"col\" class=\"num\">Last code</th>"
        "<th scope=\"col\" class=\"num\">Last RTT</th><th scope=\"col\">Recent RTT</th>"
        "<th scope=\"col\" class=\"num\">Consecutive failures</th>"
        "<th scope=\"col\">Last change</th><th scope=\"col\">Server</th></tr></thead>\n<tbody>\n";
    for (const TargetStatus* t : order) {
      out += "<tr class=\"row-" + state_class(t->state).substr(6) + "\">";
      out += "<td class=\"name\"><a href=\"" + html_escape(target_href(links, t->name)) + "\">" +
             html_escape(t->name) + "</a><div class=\"uri\">" + html_escape(t->uri) + "</div></td>";
      out += "<td>" + badge(t->state) + "</td>";
      out += "<td class=\"num\">" + code_or_reason(*t) + "</td>";
      out += "<td class=\"num\">" + format_rtt(t->last_rtt_seconds) + "</td>";
      out += "<td>" + sparkline(t->recent_rtts, 120, 24) + "</td>";
      out += "<td class=\"num\">" + std::to_string(t->consecutive_failures) + "</td>";
      out += "<td class=\"when\">" + time_ago(t->last_change_unix, s.now_unix) + "</td>";
      out += "<td>" +
             (t->server.empty() ? std::string("<span class=\"muted\">\xe2\x80\x93</span>")
                                : html_escape(t->server)) +
             "</td></tr>\n";
    }
    out += "</tbody>\n</table>\n";
  }
  out += "</main>\n";
  return out + page_foot(s, links, "Refreshes every 10 s \xc2\xb7 ");
}

namespace {

// A running Retry-After pause: the peer asked not to be probed until then.
std::string paused_note(const AddressStatus& a, double now) {
  if (a.paused_until_unix <= now) return {};
  return " <span class=\"muted paused\">Retry-After: no probe for " +
         human_duration(a.paused_until_unix - now) + "</span>";
}

// Each address the target resolved to, with its own health (RFC 3263: one per DNS answer).
std::string render_addresses(const std::vector<AddressStatus>& addresses, double now) {
  if (addresses.empty()) return {};
  std::string out =
      "<h2>Addresses</h2>\n<table id=\"addresses\">\n<thead><tr><th>Address</th>"
      "<th>Transport</th><th>State</th><th class=\"num\">Last code</th>"
      "<th class=\"num\">Last RTT</th><th>TLS</th><th>Certificate expires</th>"
      "</tr></thead>\n<tbody>\n";
  for (const AddressStatus& a : addresses) {
    const std::string code =
        a.last_code > 0 ? std::to_string(a.last_code)
                        : "<span class=\"reason\">" +
                              html_escape(a.reason.empty() ? "\xe2\x80\x93" : a.reason) + "</span>";
    out += "<tr><td class=\"uri\">" + html_escape(a.address) + "</td><td>" +
           html_escape(a.transport) + "</td><td>" + badge(a.state) + paused_note(a, now) +
           "</td><td class=\"num\">" + code + "</td><td class=\"num\">" +
           format_rtt(a.last_rtt_seconds) + "</td><td>" +
           (a.tls.empty() ? "<span class=\"muted\">\xe2\x80\x93</span>" : html_escape(a.tls)) +
           "</td><td>" +
           (a.cert_expiry_unix > 0 ? utc_time(a.cert_expiry_unix, false)
                                   : "<span class=\"muted\">\xe2\x80\x93</span>") +
           "</td></tr>\n";
  }
  return out + "</tbody>\n</table>\n";
}

}  // namespace

std::string render_target_page(const StatusSnapshot& s, const TargetStatus& t,
                               const PageLinks& links) {
  std::string out = page_head(t.name + " \xe2\x80\x93 SIP Trunk Exporter", false);
  out += "<header><h1>" + html_escape(t.name) + " " + badge(t.state) + "</h1><nav>" +
         home_link(links, "\xe2\x86\x90 All targets") + link(links, links.metrics, "Metrics") +
         "</nav></header>\n<main>\n<dl class=\"facts\">\n";
  auto fact = [&](std::string_view term, const std::string& html) {
    out += "<dt>";
    out += term;
    out += "</dt><dd>" + html + "</dd>\n";
  };
  fact("URI", "<span class=\"uri\">" + html_escape(t.uri) + "</span>");
  std::string labels;
  for (const auto& [k, v] : t.labels) {
    labels +=
        "<span class=\"label\">" + html_escape(k) + "=&quot;" + html_escape(v) + "&quot;</span>";
  }
  fact("Labels", labels.empty() ? "<span class=\"muted\">none</span>" : labels);
  fact("State", badge(t.state));
  fact("Last code", code_or_reason(t));
  fact("Last RTT", format_rtt(t.last_rtt_seconds));
  fact("Consecutive failures", std::to_string(t.consecutive_failures));
  fact("Last change", time_ago(t.last_change_unix, s.now_unix));
  fact("Server",
       t.server.empty() ? "<span class=\"muted\">\xe2\x80\x93</span>" : html_escape(t.server));
  if (!(t.allow.empty() && t.supported.empty() && t.accept.empty())) {
    // What the peer advertised in its last 2xx (RFC 3261 11.2): which methods and extensions
    // a call to it may use.
    std::string caps;
    for (const auto& [name, value] :
         {std::pair{"Allow", &t.allow}, {"Supported", &t.supported}, {"Accept", &t.accept}}) {
      if (value->empty()) continue;
      caps += std::string("<div><span class=\"muted\">") + name + ":</span> " +
              html_escape(*value) + "</div>";
    }
    fact("Capabilities", "<div id=\"capabilities\">" + caps + "</div>");
  }
  fact("Recent RTT", sparkline(t.recent_rtts, 360, 48));
  out += "</dl>\n";
  out += render_addresses(t.addresses, s.now_unix);

  out += "<h2>Last " + std::to_string(t.exchanges.size()) +
         (t.exchanges.size() == 1 ? " exchange" : " exchanges") + ", newest first</h2>\n";
  if (t.exchanges.empty()) {
    out += "<p class=\"empty\" id=\"no-exchanges\">No probe has finished yet.</p>\n";
  }
  for (const auto& e : t.exchanges) {
    out += std::string("<article class=\"exchange ") +
           (e.success ? "exchange-ok" : "exchange-fail") + "\"><h3>";
    out += "<time datetime=\"" + iso_time(e.unix_time) + "\">" + utc_time(e.unix_time, true) +
           "</time>";
    out += std::string("<span class=\"badge ") +
           (e.success ? "state-up\">success" : "state-down\">failure") + "</span>";
    if (e.code > 0) {
      out += "<span>code " + std::to_string(e.code) + "</span>";
    } else {
      out += "<span class=\"reason\">" + html_escape(e.reason.empty() ? "no response" : e.reason) +
             "</span>";
    }
    out += "<span>RTT " + format_rtt(e.rtt_seconds) + "</span>";
    out += "<span>took " + format_duration(e.duration_seconds) + "</span>";
    out += "<span>" + std::to_string(e.transmissions) +
           (e.transmissions == 1 ? " transmission" : " transmissions") + "</span>";
    out += "<span class=\"muted\">" + human_duration(s.now_unix - e.unix_time) + " ago</span>";
    out += "</h3>\n";
    if (!e.request.empty()) {  // the board may keep the request text of the newest only
      out += "<div class=\"muted\">Request</div><pre class=\"request\">" + html_escape(e.request) +
             "</pre>\n";
    }
    if (e.response.empty()) {
      out += "<div class=\"muted\">Response</div><p class=\"muted\">No final response.</p>\n";
    } else {
      out += "<div class=\"muted\">Response</div><pre class=\"response\">" +
             html_escape(e.response) + "</pre>\n";
    }
    out += "</article>\n";
  }
  out += "</main>\n";
  return out + page_foot(s, links, "");
}

}  // namespace stx
