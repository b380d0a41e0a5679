#include "config/config_keys.h"

#include <algorithm>

#include "config/exporter_settings.h"
#include "config/host_patterns.h"
#include "config/labels_headers.h"
#include "config/probe_settings.h"
#include "config/transport_settings.h"

namespace stx::config_impl {
namespace {

constexpr std::uint8_t kPerTarget = kInDefaults | kInTarget;  // every target, no module
constexpr std::uint8_t kEverywhere = kInDefaults | kInTarget | kInModule;
constexpr std::string_view kOneProbe = "a /probe request runs one probe";

constexpr ConfigKey exporter_key(std::string_view name, ExporterParser parse,
                                 std::string_view doc) {
  return {name, kInExporter, nullptr, parse, {}, doc};
}

// `not_for_modules` says why a module refuses the key; empty: modules may set it.
constexpr ConfigKey setting_key(std::string_view name, std::uint8_t places, SettingParser parse,
                                std::string_view doc, std::string_view not_for_modules = {}) {
  return {name, places, parse, nullptr, not_for_modules, doc};
}

// name and uri: the target parser reads them itself.
constexpr ConfigKey target_only_key(std::string_view name, std::string_view doc) {
  return {name, kInTarget, nullptr, nullptr, "the target comes from /probe?target=<sip-uri>", doc};
}

// The parsers are generic lambdas: `s` is the Settings (or ExporterConfig) of the table.
constexpr ConfigKey kKeys[] = {
    // [exporter]
    exporter_key(
        "rtt_buckets",
        [](const auto& src, const auto& node, const auto& ctx, auto& e) {
          e.rtt_buckets = parse_rtt_buckets(src, node, ctx);
        },
        "upper bounds of the sip_probe_rtt_seconds buckets, seconds, increasing"),
    exporter_key(
        "dns_servers",
        [](const auto& src, const auto& node, const auto& ctx, auto& e) {
          e.dns.servers = parse_dns_servers(src, node, ctx);
        },
        "DNS servers for target names; empty: /etc/resolv.conf"),
    exporter_key(
        "dns_min_ttl",
        [](const auto& src, const auto& node, const auto& ctx, auto& e) {
          e.dns.min_ttl = parse_dns_seconds(src, node, ctx, kMinDnsTtl);
        },
        "DNS answers are kept at least this long"),
    exporter_key(
        "dns_max_ttl",
        [](const auto& src, const auto& node, const auto& ctx, auto& e) {
          e.dns.max_ttl = parse_dns_seconds(src, node, ctx, kMinDnsTtl);
        },
        "DNS answers are kept at most this long"),
    exporter_key(
        "dns_grace",
        [](const auto& src, const auto& node, const auto& ctx, auto& e) {
          e.dns.grace = parse_dns_seconds(src, node, ctx, Millis::zero());
        },
        "a failed DNS refresh keeps the last answer this long past its TTL"),
    exporter_key(
        "allow_no_targets",
        [](const auto& src, const auto& node, const auto& ctx, auto& e) {
          e.allow_no_targets = expect_bool(src, node, ctx);
        },
        "accept a file without [[target]] (an exporter for /probe only)"),
    exporter_key(
        "probe_allowed_targets",
        [](const auto& src, const auto& node, const auto& ctx, auto& e) {
          e.probe_allowed_targets =
              parse_host_patterns(src, node, ctx, "an array like [\"*.carrier.example\"]");
        },
        "hosts /probe may probe (names, *.<domain>, IPs, CIDRs); empty: any"),
    exporter_key(
        "zero_series",
        [](const auto& src, const auto& node, const auto& ctx, auto& e) {
          e.zero_series = expect_bool(src, node, ctx);
        },
        "every failure reason's series from the start at 0; false: each appears at its "
        "first count (fewer series for a large fleet)"),

    // [[target]] only: the parser of the table reads them first
    target_only_key("name", "unique; the value of the target label"),
    target_only_key("uri", "the sip: or sips: URI probed, used as Request-URI and To"),

    // per-target settings: [defaults], [[target]] and, where it makes sense, modules
    setting_key(
        "interval", kPerTarget,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.interval = parse_interval(src, node, ctx);
          s.interval_node = &node;
        },
        "time between probe starts", kOneProbe),
    setting_key(
        "fast_interval", kPerTarget,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.fast_interval = parse_interval(src, node, ctx);
        },
        "time between probe starts while a change is pending (an up target failed, or a down "
        "one answered, fewer times than its threshold); default the interval",
        kOneProbe),
    setting_key(
        "down_interval", kPerTarget,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.down_interval = parse_interval(src, node, ctx);
        },
        "time between probe starts while the target is down or degraded; default the interval",
        kOneProbe),
    setting_key(
        "interval_jitter", kPerTarget,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.interval_jitter = parse_interval_jitter(src, node, ctx);
        },
        "random addition to each interval, up to a duration (\"2s\") or a share of it "
        "(\"10%\")",
        kOneProbe),
    setting_key(
        "timeout", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.timeout = parse_timeout(src, node, ctx);
          s.timeout_node = &node;
        },
        "a probe without a final response by then fails"),
    setting_key(
        "failures_before_down", kPerTarget,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.failures_before_down = parse_count(src, node, ctx);
        },
        "consecutive failed probes that mark an up target down", kOneProbe),
    setting_key(
        "successes_before_up", kPerTarget,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.successes_before_up = parse_count(src, node, ctx);
        },
        "consecutive healthy probes that mark a down target up", kOneProbe),
    setting_key(
        "healthy_codes", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.healthy_codes = parse_healthy_codes(src, node, ctx);
        },
        "final status classes or codes that count as success"),
    setting_key(
        "degraded_codes", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.degraded_codes = parse_healthy_codes(src, node, ctx, true);
        },
        "final codes that mean alive but refusing service (state degraded); [] for none"),
    setting_key(
        "from", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.from = parse_uri_value(src, node, ctx, kDefaultFrom);
        },
        "From URI; its user part is also the Contact user"),
    setting_key(
        "user_agent", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.user_agent = parse_user_agent(src, node, ctx);
        },
        "User-Agent header, printable ASCII"),
    setting_key(
        "labels", kPerTarget,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          parse_labels(src, node, ctx, s.labels);
        },
        "extra static labels on every series of the target",
        "add labels with relabeling in the Prometheus scrape config"),
    setting_key(
        "transport", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.transport = parse_choice<Transport>(src, node, ctx,
                                                {{"udp", Transport::udp},
                                                 {"tcp", Transport::tcp},
                                                 {"tls", Transport::tls},
                                                 {"ws", Transport::ws},
                                                 {"wss", Transport::wss}});
        },
        "udp, tcp, tls, ws or wss (SIP over WebSocket); else the URI's, else RFC 3263 decides"),
    setting_key(
        "probe", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.probe = parse_choice<ProbeAddresses>(
              src, node, ctx, {{"all", ProbeAddresses::all}, {"first", ProbeAddresses::first}});
        },
        "probe every resolved address, or only the first"),
    setting_key(
        "up_when", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.up_when =
              parse_choice<UpWhen>(src, node, ctx, {{"any", UpWhen::any}, {"all", UpWhen::all}});
        },
        "the target is up when any or all of its addresses are"),
    setting_key(
        "method", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.method = parse_method(src, node, ctx);
        },
        "the probe: options (OPTIONS ping), register (REGISTER fetching the bindings) or invite "
        "(a test call, cancelled when it rings)"),
    setting_key(
        "aor", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.aor = parse_uri_value(src, node, ctx, "sip:pbx01@registrar.example");
        },
        "method register: the address of record whose bindings are fetched; default the From "
        "URI"),
    setting_key(
        "min_contacts", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.min_contacts = parse_min_contacts(src, node, ctx);
        },
        "method register: fewer Contact bindings than this is unhealthy (no_binding)"),
    setting_key(
        "invite_cancel_after", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.invite_cancel_after = parse_invite_cancel_after(src, node, ctx);
        },
        "method invite: how long the test call rings after the first 180/183 before the CANCEL; "
        "0 at once"),
    setting_key(
        "to", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.to = parse_uri_value(src, node, ctx, "sip:+15551234567@carrier.example");
        },
        "To URI; default the target URI"),
    setting_key(
        "contact", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.contact = parse_uri_value(src, node, ctx, "sip:probe@198.51.100.7:5060");
        },
        "Contact URI; default sip:<From user>@<our address>"),
    setting_key(
        "ruri_user", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.ruri_user = parse_ruri_user(src, node, ctx);
        },
        "user part put into the Request-URI"),
    setting_key(
        "headers", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          parse_headers(src, node, ctx, s.headers);
        },
        "extra request headers, at most 16"),
    setting_key(
        "source_address", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.source_address = parse_source_address(src, node, ctx);
        },
        "local IP address to send from"),
    setting_key(
        "source_port", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.source_port = parse_port(src, node, ctx);
        },
        "local port to send from"),
    setting_key(
        "tls_ca_file", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.tls.ca_file = parse_file(src, node, ctx);
        },
        "PEM bundle of CAs trusted for the peer's certificate"),
    setting_key(
        "tls_cert_file", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.tls.cert_file = parse_file(src, node, ctx);
        },
        "client certificate, for mutual TLS"),
    setting_key(
        "tls_key_file", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.tls.key_file = parse_file(src, node, ctx);
        },
        "the client certificate's key"),
    setting_key(
        "tls_server_name", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.tls.server_name = parse_server_name(src, node, ctx);
        },
        "name sent in SNI and checked; default the URI host"),
    setting_key(
        "tls_insecure_skip_verify", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.tls.insecure_skip_verify = expect_bool(src, node, ctx);
        },
        "accept any certificate (labs only)"),
    setting_key(
        "ws_path", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.ws_path = parse_ws_path(src, node, ctx);
        },
        "transport ws/wss: the HTTP path of the WebSocket upgrade request"),
    setting_key(
        "keepalive_interval", kPerTarget,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.keepalive_interval = parse_keepalive(src, node, ctx);
        },
        "RFC 5626 CRLF ping on tcp/tls (WebSocket ping on ws/wss) between probes; 0 off",
        "a /probe request keeps no connection open"),
    setting_key(
        "auth_user", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.auth_user = parse_auth_user(src, node, ctx);
        },
        "user for answering one digest challenge per probe"),
    setting_key(
        "auth_password", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          // One password source: a more specific table's replaces an inherited one.
          s.auth_password = parse_password(src, node, ctx);
          s.auth_password_env.clear();
          s.nodes.erase("auth_password_env");
        },
        "the digest password"),
    setting_key(
        "auth_password_env", kEverywhere,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.auth_password_env = parse_password_env(src, node, ctx, s.auth_password);
          s.nodes.erase("auth_password");
        },
        "environment variable holding the digest password"),
    setting_key(
        "auth_trusted_hosts", kInModule,
        [](const auto& src, const auto& node, const auto& ctx, Settings& s) {
          s.auth_trusted_hosts =
              parse_host_patterns(src, node, ctx, "an array like [\"sip.carrier.example\"]");
        },
        "/probe target hosts whose challenges the credentials answer; else none"),
};

// The one kind of table a key belongs to, for a message; empty: several.
std::string_view only_table(std::uint8_t places) {
  if (places == kInTarget) return "a [[target]] table";
  if (places == kInModule) return "a [module.<name>] table";
  return {};
}

}  // namespace

std::span<const ConfigKey> config_keys() { return kKeys; }

const ConfigKey* find_config_key(std::string_view name) {
  const auto* it = std::find_if(std::begin(kKeys), std::end(kKeys),
                                [&](const ConfigKey& key) { return key.name == name; });
  return it == std::end(kKeys) ? nullptr : it;
}

std::vector<std::string_view> key_names(KeyPlace place) {
  std::vector<std::string_view> names;
  for (const ConfigKey& key : kKeys) {
    if ((key.places & place) != 0) names.push_back(key.name);
  }
  return names;
}

const ConfigKey& known_key(const ConfigSource& src, const toml::key& key, KeyPlace place,
                           const std::string& context) {
  const ConfigKey* config_key = find_config_key(key.str());
  const std::string_view home = config_key != nullptr ? only_table(config_key->places) : "";
  if (!home.empty() && (config_key->places & place) == 0) {
    src.fail(key.source(), context,
             "unknown key " + quote_utf8(key.str()) + " (" + std::string(key.str()) +
                 " can only be set in " + std::string(home) + ")");
  }
  if (config_key == nullptr || (config_key->places & place) == 0) {
    src.fail(key.source(), context,
             unknown_key_message("unknown key", key.str(), key_names(place)));
  }
  return *config_key;
}

void apply_setting(const ConfigSource& src, const ConfigKey& key, const toml::node& node,
                   const std::string& context, Settings& settings) {
  settings.nodes.insert_or_assign(std::string(key.name), &node);
  if (key.parse_setting != nullptr) {
    key.parse_setting(src, node, context + ": " + std::string(key.name), settings);
  }
}

}  // namespace stx::config_impl
