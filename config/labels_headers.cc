#include "config/labels_headers.h"

#include <algorithm>

#include "sip/message_text.h"
#include "sip/sip_grammar.h"

namespace stx {
namespace {

// Label names the exporter sets itself (or Prometheus attaches on scrape). A static label of
// one of these names would duplicate a label and make Prometheus reject the scrape; the
// exporter's metrics tests check every label its output writes against is_reserved_label().
constexpr std::string_view kReservedLabels[] = {
    "target",  "code",     "result", "reason", "uri",   "transport", "server",   "address",  "le",
    "version", "revision", "cipher", "state",  "index", "count",     "replicas", "instance", "job"};

}  // namespace

bool is_reserved_label(std::string_view name) { return is_one_of(name, kReservedLabels); }

namespace config_impl {
namespace {

// Headers the exporter writes itself, and the key that sets each one where there is one.
struct OwnHeader {
  std::string_view name;
  std::string_view compact;  // RFC 3261 7.3.3; empty when none
  std::string_view key;      // config key that sets it; empty when none
};
constexpr OwnHeader kOwnHeaders[] = {
    {"Via", "v", ""},
    {"From", "f", "from"},
    {"To", "t", "to"},
    {"Call-ID", "i", ""},
    {"CSeq", "", ""},
    {"Contact", "m", "contact"},
    {"Max-Forwards", "", ""},
    {"Content-Length", "l", ""},
    {"Content-Type", "c", ""},
    {"User-Agent", "", "user_agent"},
    {"Authorization", "", "auth_user"},
    {"Proxy-Authorization", "", "auth_user"},
    {"Accept", "", ""},
};

// Why `name` cannot be an extra header, or empty.
std::string own_header_reason(std::string_view name) {
  for (const OwnHeader& h : kOwnHeaders) {
    const bool compact = !h.compact.empty() && iequals(name, h.compact);
    if (!compact && !iequals(name, h.name)) continue;
    std::string reason = quote_utf8(name);
    if (compact) reason += " (compact form of " + std::string(h.name) + ")";
    reason += " is written by the exporter";
    if (!h.key.empty()) reason += "; set it with the \"" + std::string(h.key) + "\" key";
    return reason;
  }
  return "";
}

}  // namespace

void parse_labels(const ConfigSource& src, const toml::node& node, const std::string& key_context,
                  std::map<std::string, std::string>& labels) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    src.fail(node.source(), key_context,
             "expected a table like { site = \"nyc\" }, got " + type_of(node));
  }
  for (const auto& [key, value] : in_document_order(*table)) {
    const std::string name(key->str());
    bool valid = !name.empty();
    for (std::size_t i = 0; i < name.size() && valid; ++i) {
      char c = name[i];
      bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      bool digit = c >= '0' && c <= '9';
      valid = letter || (digit && i > 0);
    }
    if (!valid) {
      src.fail(
          key->source(), key_context,
          "name " + quote_utf8(name) + " is not a valid label name (want [a-zA-Z_][a-zA-Z0-9_]*)");
    }
    if (name.starts_with("__")) {
      src.fail(
          key->source(), key_context,
          "name " + quote_utf8(name) + " is reserved (names starting with \"__\" are internal)");
    }
    if (is_reserved_label(name)) {
      src.fail(key->source(), key_context,
               "name " + quote_utf8(name) + " is reserved for the exporter's own labels");
    }
    const auto* str = value->as_string();
    if (str == nullptr) {
      src.fail(value->source(), key_context + "." + name,
               "expected a string, got " + type_of(*value));
    }
    if (str->get().size() > kMaxLabelValueLength) {
      src.fail(value->source(), key_context + "." + name,
               "value is longer than " + std::to_string(kMaxLabelValueLength) + " bytes (" +
                   std::to_string(str->get().size()) + ")");
    }
    labels.insert_or_assign(name, str->get());
  }
}

void parse_headers(const ConfigSource& src, const toml::node& node, const std::string& key_context,
                   std::vector<std::pair<std::string, std::string>>& headers) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    src.fail(node.source(), key_context,
             "expected a table like { \"X-Account\" = \"1234\" }, got " + type_of(node));
  }
  std::vector<std::string> seen;
  for (const auto& [key, value] : in_document_order(*table)) {
    const std::string name(key->str());
    if (!is_token(name)) {
      src.fail(
          key->source(), key_context,
          "name " + quote_utf8(name) + " is not a valid header name (RFC 3261 token characters)");
    }
    if (name.size() > kMaxHeaderNameLength) {
      src.fail(key->source(), key_context,
               "name longer than " + std::to_string(kMaxHeaderNameLength) + " bytes (" +
                   std::to_string(name.size()) + ")");
    }
    if (std::string reason = own_header_reason(name); !reason.empty()) {
      src.fail(key->source(), key_context, reason);
    }
    if (iequals(name, "Expires")) {
      src.fail(key->source(), key_context,
               "\"Expires\" is refused: in a REGISTER it could change or remove bindings, and "
               "the probes never do");
    }
    for (const std::string& other : seen) {
      if (iequals(other, name)) {
        src.fail(key->source(), key_context,
                 "header " + quote_utf8(name) + " is given twice (as " + quote_utf8(other) + ")");
      }
    }
    seen.push_back(name);
    const std::string value_context = key_context + "." + name;
    const std::string& text = expect_string(src, *value, value_context);
    check_length(src, *value, value_context, text, kMaxHeaderValueLength);
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if ((c < 0x20 && c != '\t') || c > 0x7e) {
        src.fail(value->source(), value_context,
                 quote_utf8(text) + " contains a byte that is not printable ASCII at offset " +
                     std::to_string(i));
      }
    }
    auto same = std::find_if(headers.begin(), headers.end(),
                             [&](const auto& h) { return iequals(h.first, name); });
    if (same != headers.end()) {
      *same = {name, text};
    } else {
      headers.emplace_back(name, text);
    }
  }
  if (headers.size() > kMaxExtraHeaders) {
    src.fail(node.source(), key_context,
             "more than " + std::to_string(kMaxExtraHeaders) + " headers (" +
                 std::to_string(headers.size()) + ")");
  }
}

}  // namespace config_impl
}  // namespace stx
