#include "config/setting_checks.h"

#include "config/duration.h"
#include "config/transport_settings.h"

namespace stx::config_impl {
namespace {

constexpr std::string_view kTlsKeys[] = {"tls_ca_file", "tls_cert_file", "tls_key_file",
                                         "tls_server_name", "tls_insecure_skip_verify"};

bool from_defaults(const Settings& s, const Settings& defaults, std::string_view key) {
  return &s != &defaults && s.node(key) != nullptr && s.node(key) == defaults.node(key);
}

// The node to point at: the first candidate the table itself set, else the first inherited.
const toml::node& blame(const Settings& s, const Settings& defaults,
                        std::initializer_list<std::string_view> keys, const toml::node* uri_node,
                        const toml::node& table) {
  for (std::string_view key : keys) {
    if (s.node(key) != nullptr && !from_defaults(s, defaults, key)) return *s.node(key);
  }
  if (uri_node != nullptr) return *uri_node;
  for (std::string_view key : keys) {
    if (s.node(key) != nullptr) return *s.node(key);
  }
  return table;
}

// The keys of one probe kind against `method`. [defaults] may hold a kind's keys for the
// targets that choose it; a target or module may not set keys its own method ignores.
void check_method_keys(const ConfigSource& src, const Settings& defaults, const Settings& s,
                       const std::string& context, const toml::node& table,
                       const toml::node* uri_node) {
  const bool is_register = s.method == ProbeMethod::register_;
  if (is_register && s.node("ruri_user") != nullptr) {
    src.fail(blame(s, defaults, {"ruri_user", "method"}, uri_node, table).source(),
             context + ": ruri_user",
             "a REGISTER's Request-URI is the registrar, without a user part (RFC 3261 10.2); "
             "name the user in aor instead");
  }
  if (&s == &defaults) {
    // A test call can ring a phone and cost money: each target or module opts in by itself.
    if (s.method == ProbeMethod::invite) {
      src.fail(s.node("method")->source(), context + ": method",
               "\"invite\" places test calls, so it is set per target or module, never in "
               "[defaults]");
    }
    return;
  }
  const std::string method(to_string(s.method));
  const auto refuse_unless = [&](ProbeMethod kind, std::string_view kind_name,
                                 std::initializer_list<std::string_view> keys) {
    if (s.method == kind) return;
    for (std::string_view key : keys) {
      if (s.node(key) == nullptr || from_defaults(s, defaults, key)) continue;
      src.fail(s.node(key)->source(), context + ": " + std::string(key),
               "applies to method \"" + std::string(kind_name) + "\" only, but the method is \"" +
                   method + "\"");
    }
  };
  refuse_unless(ProbeMethod::register_, "register", {"aor", "min_contacts"});
  refuse_unless(ProbeMethod::invite, "invite", {"invite_cancel_after"});
  if (s.method == ProbeMethod::invite && s.invite_cancel_after >= s.timeout) {
    src.fail(blame(s, defaults, {"invite_cancel_after", "timeout"}, uri_node, table).source(),
             context + ": invite_cancel_after",
             format_duration(s.invite_cancel_after) + " must be shorter than the timeout (" +
                 format_duration(s.timeout) + "): the CANCEL has to go out while the probe waits");
  }
}

// Like a probe kind's keys: [defaults] may hold ws_path for the targets that use WebSocket;
// a target or module that sets it must use ws or wss (or leave the transport to the URI).
void check_ws_path(const ConfigSource& src, const Settings& defaults, const Settings& s,
                   const std::string& context, std::optional<Transport> transport) {
  if (!transport || is_websocket(*transport) || &s == &defaults) return;
  if (s.node("ws_path") == nullptr || from_defaults(s, defaults, "ws_path")) return;
  src.fail(
      s.node("ws_path")->source(), context + ": ws_path",
      "applies to transport \"ws\" or \"wss\" only, but the transport is " + quoted(*transport));
}

}  // namespace

void check_one_password_source(const ConfigSource& src, const toml::table& table,
                               const std::string& context) {
  const toml::node* inline_node = table.get("auth_password");
  const toml::node* env_node = table.get("auth_password_env");
  if (inline_node == nullptr || env_node == nullptr) return;
  const bool env_later = env_node->source().begin.line > inline_node->source().begin.line ||
                         (env_node->source().begin.line == inline_node->source().begin.line &&
                          env_node->source().begin.column > inline_node->source().begin.column);
  const toml::node* later = env_later ? env_node : inline_node;
  src.fail(later->source(), context + (env_later ? ": auth_password_env" : ": auth_password"),
           "set either auth_password or auth_password_env, not both");
}

std::optional<Transport> check_settings(const ConfigSource& src, const Settings& defaults,
                                        const Settings& s, const std::string& context,
                                        const toml::node& table, const SipUri* uri,
                                        const toml::node* uri_node) {
  std::optional<Transport> transport = s.transport;
  if (uri != nullptr) {
    if (transport) {
      if (std::string conflict = transport_conflict(*uri, *transport); !conflict.empty()) {
        const bool inherited = from_defaults(s, defaults, "transport");
        src.fail(inherited ? uri_node->source() : s.node("transport")->source(),
                 context + ": transport",
                 conflict + (inherited ? " (transport is set in [defaults])" : ""));
      }
    }
    transport = effective_transport(*uri, transport);
  }

  if (transport && !is_secure(*transport)) {
    for (std::string_view key : kTlsKeys) {
      if (s.node(key) == nullptr) continue;
      src.fail(blame(s, defaults, {key, "transport"}, uri_node, table).source(),
               context + ": " + std::string(key),
               "TLS settings need transport \"tls\" or \"wss\" (or none), but the transport is " +
                   quoted(*transport));
    }
  }
  check_ws_path(src, defaults, s, context, transport);
  if (s.tls.cert_file.empty() != s.tls.key_file.empty()) {
    const bool cert = !s.tls.cert_file.empty();
    src.fail(s.node(cert ? "tls_cert_file" : "tls_key_file")->source(),
             context + (cert ? ": tls_cert_file" : ": tls_key_file"),
             cert ? "needs tls_key_file too (the client certificate's private key)"
                  : "needs tls_cert_file too (the client certificate)");
  }
  if (transport == Transport::udp && s.keepalive_interval > Millis::zero()) {
    src.fail(blame(s, defaults, {"keepalive_interval", "transport"}, uri_node, table).source(),
             context + ": keepalive_interval",
             "keepalives need transport \"tcp\", \"tls\", \"ws\" or \"wss\", but the transport "
             "is \"udp\"");
  }

  const toml::node* password_node =
      s.node("auth_password") != nullptr ? s.node("auth_password") : s.node("auth_password_env");
  if (!s.auth_user.empty() && password_node == nullptr) {
    src.fail(s.node("auth_user")->source(), context + ": auth_user",
             "needs auth_password or auth_password_env");
  }
  if (s.auth_user.empty() && password_node != nullptr) {
    src.fail(
        password_node->source(),
        context + (s.node("auth_password") != nullptr ? ": auth_password" : ": auth_password_env"),
        "needs auth_user");
  }

  check_method_keys(src, defaults, s, context, table, uri_node);

  if (uri != nullptr) {
    if (std::string conflict = source_family_conflict(s.source_address, *uri); !conflict.empty()) {
      src.fail(blame(s, defaults, {"source_address"}, uri_node, table).source(),
               context + ": source_address", conflict);
    }
  }
  return transport;
}

void warn_insecure(ConfigSource& src, const Settings& s, const std::string& context) {
  if (!s.tls.insecure_skip_verify) return;
  src.warn(s.node("tls_insecure_skip_verify")->source(), context + ": tls_insecure_skip_verify",
           "TLS certificate verification is off: anyone on the path can impersonate the peer");
}

void warn_short_interval(ConfigSource& src, const toml::node& node, const std::string& context,
                         std::string_view key, Millis interval) {
  src.warn(node.source(), context + ": " + std::string(key),
           format_duration(interval) + " is shorter than " + format_duration(kWarnInterval) +
               "; some providers such as Twilio ban OPTIONS pingers faster than one per 10-15 s");
}

}  // namespace stx::config_impl
