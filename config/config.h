#pragma once
// The validated, immutable configuration. Knows no sockets and no metrics.
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/value_types.h"
#include "sip/digest_auth.h"
#include "sip/sip_uri.h"

namespace stx {

// A set of final status codes: "2xx"-style classes or exact codes (healthy_codes,
// degraded_codes).
struct HealthyCodes {
  bool classes[7] = {};    // classes[2] true means 2xx
  std::vector<int> codes;  // exact codes
  bool contains(int code) const;
  bool operator==(const HealthyCodes&) const = default;
};

// interval_jitter: a random addition to each interval of up to a duration, or up to a
// percentage of the interval.
struct IntervalJitter {
  std::chrono::milliseconds max{0};
  int percent = 0;  // 1-100 when set; then `max` is unused
  std::chrono::milliseconds upto(std::chrono::milliseconds interval) const {
    return percent > 0 ? interval * percent / 100 : max;
  }
  bool operator==(const IntervalJitter&) const = default;
};

// Which resolved addresses a probe cycle sends to, and which make the target up.
enum class ProbeAddresses : std::uint8_t { all, first };
enum class UpWhen : std::uint8_t { any, all };
// The probe kind: which request a target's probes send (probes/probers.cc). register_ is
// the `method = "register"` binding fetch (`register` is a C++ keyword).
enum class ProbeMethod : std::uint8_t { options, register_, invite };
std::string_view to_string(ProbeMethod m);  // "options", "register", "invite"

// An immutable value held through a shared pointer and compared by value: objects that hold
// equal values may hold one copy between them. A moved-from holder reads as the default.
template <class T>
class Shared {
 public:
  Shared() = default;
  explicit Shared(T value) : p_(std::make_shared<T>(std::move(value))) {}
  const T& operator*() const { return p_ ? *p_ : *empty(); }
  const T* operator->() const { return &**this; }
  // The value, to change: copied first unless this is its only holder.
  T& edit() {
    if (!p_ || p_.use_count() != 1) p_ = std::make_shared<T>(**this);
    return *p_;
  }
  bool operator==(const Shared& o) const { return p_ == o.p_ || **this == *o; }

 private:
  static const std::shared_ptr<const T>& empty() {
    static const std::shared_ptr<const T> e = std::make_shared<const T>();
    return e;
  }
  std::shared_ptr<T> p_;  // null: the default value; only edit() changes *p_, when sole holder
};

// Every setting of a target but its name, URI and labels: what a large fleet mostly has in
// common. The configuration holds one copy of each distinct set (interned as it is parsed),
// not one per target, so a target costs its name, URI and labels and a pointer.
struct SharedSettings {
  std::chrono::milliseconds interval{30000};
  std::chrono::milliseconds fast_interval{0};  // while a change is pending; 0: the interval
  std::chrono::milliseconds down_interval{0};  // while down or degraded; 0: the interval
  IntervalJitter interval_jitter;
  std::chrono::milliseconds timeout{5000};
  int failures_before_down = 3;
  int successes_before_up = 1;
  // Transport: the `transport` key, else the URI's ;transport=, else tls for sips:.
  // nullopt: RFC 3263 chooses (NAPTR/SRV for a hostname without port, else udp).
  std::optional<Transport> transport;
  ProbeAddresses probe = ProbeAddresses::all;
  UpWhen up_when = UpWhen::any;
  ProbeMethod method = ProbeMethod::options;
  std::uint16_t source_port = 0;  // 0: ephemeral (shared socket)
  int min_contacts = 0;  // register: fewer bindings are unhealthy (no_binding); 0: no minimum
  // invite: how long after the first 18x the CANCEL goes out; 0: at once.
  std::chrono::milliseconds invite_cancel_after{0};
  // RFC 5626 CRLF ping on tcp/tls (a WebSocket ping on ws/wss); 0 off
  std::chrono::milliseconds keepalive_interval{0};
  HealthyCodes healthy_codes;   // default 2xx
  HealthyCodes degraded_codes;  // default 503: alive, refusing service; healthy_codes win
  std::string from;
  std::string user_agent;
  std::string aor;        // register: the address of record (To); empty: the From URI
  std::string to;         // To URI; empty: the target URI
  std::string ruri_user;  // user part put into the Request-URI; empty: the URI as written
  std::string contact;    // Contact URI; empty: sip:<From user>@<our address>
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, config order
  std::string source_address;  // local IP to send from; empty: chosen by routing
  TlsSettings tls;
  std::string ws_path = "/";  // ws and wss: the HTTP request target of the WebSocket upgrade
  std::optional<DigestCredentials> auth;
  bool operator==(const SharedSettings&) const = default;
};

// A hash of `s` consistent with its ==, for interning.
std::size_t hash_of(const SharedSettings& s);

struct TargetConfig {
  std::string name;  // unique; the `target` label
  std::string uri;   // as written, used as Request-URI and To
  // `uri` parsed, made when asked: only locating, connecting and /probe's checks need it,
  // and a large fleet would hold a copy of its parts per target. Empty if it does not parse.
  SipUri parsed_uri() const;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name
  Shared<SharedSettings> shared;  // the rest: schedule, thresholds, texts, TLS, credentials
  bool operator==(const TargetConfig&) const = default;
};

// An IP network; an IP literal is one of /32 or /128.
struct IpNetwork {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4
  int prefix = 0;
  bool operator==(const IpNetwork&) const = default;
};

// Hosts a setting names: host names, "*.<domain>" patterns, IP literals and CIDRs.
struct HostPatterns {
  std::vector<std::string> names;     // lower-cased
  std::vector<std::string> suffixes;  // ".carrier.example" for "*.carrier.example"
  std::vector<IpNetwork> networks;
  bool empty() const { return names.empty() && suffixes.empty() && networks.empty(); }
  bool operator==(const HostPatterns&) const = default;
};

// Whether `patterns` name the host of `uri`: a name by name or pattern (case-insensitively),
// an IP literal by network. Names are never resolved: a CIDR matches IP literal hosts only.
bool host_matches(const HostPatterns& patterns, const SipUri& uri);

// A `[module.<name>]` table: probe settings for /probe?module=<name>. `settings` holds every
// per-target key resolved against [defaults]; its name, uri and labels are empty.
struct ModuleConfig {
  std::string name;
  TargetConfig settings;
  // Hosts whose challenges /probe answers with the module's credentials; empty: none.
  HostPatterns auth_trusted_hosts;
};

struct ExporterConfig {
  std::vector<double> rtt_buckets;  // upper bounds in seconds, strictly increasing
  DnsSettings dns;
  bool allow_no_targets = false;       // else a config without [[target]] is refused
  HostPatterns probe_allowed_targets;  // hosts /probe may probe; empty: any
  // Failure-reason series at 0 before their first count; false: they appear on first use.
  bool zero_series = true;
};

struct Config {
  ExporterConfig exporter;
  std::vector<TargetConfig> targets;
  std::vector<ModuleConfig> modules;  // sorted by name; always holds "default" ([defaults])
  std::vector<std::string> warnings;  // "file:line:col: ..." lines worth logging
};

// Thrown with "file:line:col: message" (line/col omitted when unknown).
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<double> default_rtt_buckets();
std::string default_user_agent();

Config parse_config(std::string_view toml_text, std::string_view source_name);

// The module called `name`, or nullptr.
const ModuleConfig* find_module(const Config& config, std::string_view name);

// Whether `name` is a label the exporter writes itself (or Prometheus attaches), and so not
// allowed in `labels`.
bool is_reserved_label(std::string_view name);

// A target for one /probe request: `module`'s settings with `uri` (from the query string),
// without credentials unless the module's auth_trusted_hosts name the URI's host.
// Throws ConfigError with a one-line reason fit for an HTTP 400 body
// (e.g. `target "sip:x:99999": port "99999" out of range 1-65535`).
TargetConfig target_for_probe(const ModuleConfig& module, std::string_view uri);
Config load_config_file(const std::string& path);

}  // namespace stx
