#pragma once
// The status pages an on-call engineer opens first: "/" lists every target, "/target?name=X"
// shows one with its recent exchanges. Plain server-rendered HTML with inline CSS and SVG:
// no external assets, readable without JavaScript. Pure functions of a snapshot.
#include <string>
#include <utility>
#include <vector>

namespace stx {

// One finished probe as the detail page shows it.
struct ExchangeRecord {
  double unix_time = 0;  // when the probe finished
  bool success = false;
  int code = 0;             // final status code, 0 if none
  std::string reason;       // failure reason when code == 0 ("timeout", "refused", ...)
  double rtt_seconds = -1;  // < 0 when no final response
  double duration_seconds = 0;
  int transmissions = 0;
  std::string request;   // the request as sent (first transmission)
  std::string response;  // the final response as received, empty if none
};

// One address of a target (RFC 3263 answer or the URI's literal) on the detail page.
struct AddressStatus {
  std::string address;    // "192.0.2.1:5060"
  std::string transport;  // "udp", "tcp", "tls"
  std::string state;      // "unknown", "up", "degraded" or "down"
  int last_code = 0;
  std::string reason;  // failure reason of the last probe when last_code == 0
  double last_rtt_seconds = -1;
  std::string tls;              // "TLSv1.3 TLS_AES_256_GCM_SHA384", empty if none
  double cert_expiry_unix = 0;  // 0 if unknown
  double paused_until_unix = 0;  // Retry-After: no probe before then; 0 if not paused
};

struct TargetStatus {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // static labels
  std::string uri;
  std::string state;             // "unknown", "up", "degraded" or "down"
  int last_code = 0;             // 0 if the last probe got none
  double last_rtt_seconds = -1;  // < 0 until a final response arrived
  int consecutive_failures = 0;
  double last_change_unix = 0;            // 0 while unknown
  std::string server;                     // Server/User-Agent of the last response
  // Allow, Supported and Accept of the last 2xx that carried any (an OPTIONS answer's).
  std::string allow, supported, accept;
  std::vector<double> recent_rtts;        // oldest first; < 0 marks a probe without answer
  std::vector<ExchangeRecord> exchanges;  // newest first
  std::vector<AddressStatus> addresses;   // in RFC 3263 order (detail page only)
};

struct StatusSnapshot {
  double now_unix = 0;
  std::string version;
  std::string revision;
  std::string shard;                  // "1/3" when sharded (--shard.count > 1), else empty
  std::vector<TargetStatus> targets;  // sorted by name
};

// Where the pages link to: `base` ("" for links relative to the page, else an absolute path
// ending in "/") followed by the route, and the metrics route itself without leading "/".
struct PageLinks {
  std::string base;
  std::string metrics = "metrics";
};

// "/": every target with state, last code, last RTT, a sparkline of recent RTTs,
// consecutive failures, time since last change and server header; links to the details.
std::string render_status_page(const StatusSnapshot& s, const PageLinks& links = {});

// "/target?name=X": one target, its labels, and its last exchanges (request and response
// text with timings). `t` is one of `s.targets`.
std::string render_target_page(const StatusSnapshot& s, const TargetStatus& t,
                               const PageLinks& links = {});

// HTML-escapes text (&, <, >, ", ').
std::string html_escape(std::string_view text);

}  // namespace stx
