#pragma once
// How and from where a probe reaches its target: the target URI, transport, source address
// and port, TLS files and name, keepalives; and the conflicts between them and the URI.
#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/toml_values.h"
#include "sip/sip_uri.h"

namespace stx::config_impl {

// `"tls"`, for messages.
std::string quoted(Transport t);

// "longer than 1024 bytes (1026)" for a target URI that is too long, else empty.
std::string uri_length_error(std::string_view text);
// A target URI (a [[target]]'s `uri` or a /probe request's `target`): a SIP URI the prober can
// use. Returns nullopt with a one-line reason in *error.
std::optional<SipUri> parse_target_uri(std::string_view text, std::string* error);
// Why the `transport` key `key` cannot go with `uri`, or empty.
std::string transport_conflict(const SipUri& uri, Transport key);
// The `transport` key, else the URI's ;transport=, else tls for sips:, else none (RFC 3263).
std::optional<Transport> effective_transport(const SipUri& uri, std::optional<Transport> key);

// tls and wss: the transports a sips: URI allows.
bool is_secure(Transport t);
// ws and wss: SIP over WebSocket (RFC 7118), the transports ws_path applies to.
bool is_websocket(Transport t);
// The `ws_path` key: the HTTP request target of the WebSocket upgrade ("/" by default).
std::string parse_ws_path(const ConfigSource& src, const toml::node& node,
                          const std::string& key_context);

// ipv4 or ipv6 for an IP literal (without brackets), else nullopt.
std::optional<HostKind> ip_literal_kind(const std::string& text);
// Why `source_address` cannot reach the URI's host, or empty.
std::string source_family_conflict(const std::string& source, const SipUri& uri);

std::string parse_source_address(const ConfigSource& src, const toml::node& node,
                                 const std::string& key_context);
std::uint16_t parse_port(const ConfigSource& src, const toml::node& node,
                         const std::string& key_context);
// A file that must be readable now, so that a reload with a bad path is rejected. Relative
// paths are resolved against the config file's directory.
std::string parse_file(const ConfigSource& src, const toml::node& node,
                       const std::string& key_context);
std::string parse_server_name(const ConfigSource& src, const toml::node& node,
                              const std::string& key_context);
Millis parse_keepalive(const ConfigSource& src, const toml::node& node,
                       const std::string& key_context);

}  // namespace stx::config_impl
