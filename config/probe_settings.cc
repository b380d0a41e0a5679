#include "config/probe_settings.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "config/duration.h"
#include "config/settings.h"
#include "sip/message_text.h"
#include "sip/sip_grammar.h"
#include "sip/sip_uri.h"

namespace stx::config_impl {
namespace {

void add_code(HealthyCodes& codes, int code) {
  if (std::find(codes.codes.begin(), codes.codes.end(), code) == codes.codes.end()) {
    codes.codes.push_back(code);
  }
}

}  // namespace

Millis parse_interval(const ConfigSource& src, const toml::node& node,
                      const std::string& key_context) {
  const Millis interval = parse_duration_value(src, node, key_context, "30s");
  if (interval < kMinInterval) {
    src.fail(node.source(), key_context,
             "must be at least " + format_duration(kMinInterval) + ", got " + quoted_text(node));
  }
  check_at_most(src, node, key_context, interval, kMaxInterval);
  return interval;
}

Millis parse_timeout(const ConfigSource& src, const toml::node& node,
                     const std::string& key_context) {
  const Millis timeout = parse_duration_value(src, node, key_context, "5s");
  if (timeout <= Millis::zero()) {
    src.fail(node.source(), key_context, "must be greater than 0, got " + quoted_text(node));
  }
  return timeout;
}

IntervalJitter parse_interval_jitter(const ConfigSource& src, const toml::node& node,
                                     const std::string& key_context) {
  IntervalJitter jitter;
  const auto* str = node.as_string();
  if (str != nullptr && !str->get().empty() && str->get().back() == '%') {
    const std::string_view digits = std::string_view(str->get()).substr(0, str->get().size() - 1);
    int percent = 0;
    bool ok = !digits.empty() && digits.size() <= 3;
    for (const char c : digits) {
      ok = ok && c >= '0' && c <= '9';
      if (ok) percent = percent * 10 + (c - '0');
    }
    if (!ok || percent > 100) {
      src.fail(
          node.source(), key_context,
          "expected a whole percentage from 0% to 100% of the interval, got " + quoted_text(node));
    }
    jitter.percent = percent;
    return jitter;
  }
  jitter.max = parse_duration_value(src, node, key_context, "2s\" or \"10%");
  check_at_most(src, node, key_context, jitter.max, kMaxInterval);
  return jitter;
}

HealthyCodes parse_healthy_codes(const ConfigSource& src, const toml::node& node,
                                 const std::string& key_context, bool may_be_empty) {
  const toml::array& array =
      expect_array(src, node, key_context, "an array like [\"2xx\", \"404\"]");
  if (array.empty() && !may_be_empty) src.fail(node.source(), key_context, "must not be empty");
  HealthyCodes codes;
  for (const toml::node& element : array) {
    const std::string provisional = " is not allowed: provisional (1xx) responses are never final";
    if (const auto* i = element.as_integer()) {
      std::int64_t code = i->get();
      std::string shown = std::to_string(code);
      if (code >= 100 && code <= 199) src.fail(element.source(), key_context, shown + provisional);
      if (code < 200 || code > 699) {
        src.fail(element.source(), key_context,
                 shown + " is not a final status code (want 200 to 699, or a class like \"2xx\")");
      }
      add_code(codes, static_cast<int>(code));
      continue;
    }
    const auto* str = element.as_string();
    if (str == nullptr) {
      src.fail(element.source(), key_context,
               "expected a string like \"2xx\" or an integer code, got " + type_of(element));
    }
    std::string_view text = str->get();
    bool digit0 = text.size() == 3 && text[0] >= '0' && text[0] <= '9';
    bool is_class = digit0 && (text[1] == 'x' || text[1] == 'X') && text[1] == text[2];
    bool is_code = digit0 && text[1] >= '0' && text[1] <= '9' && text[2] >= '0' && text[2] <= '9';
    if (!is_class && !is_code) {
      src.fail(element.source(), key_context,
               quote_utf8(text) + " is not a status class like \"2xx\" or a code like \"404\"");
    }
    if (text[0] == '1') src.fail(element.source(), key_context, quote_utf8(text) + provisional);
    if (text[0] < '2' || text[0] > '6') {
      src.fail(element.source(), key_context,
               quote_utf8(text) + (is_class ? " is not a status class from 2xx to 6xx"
                                            : " is not a final status code (want 200 to 699)"));
    }
    if (is_class) {
      codes.classes[text[0] - '0'] = true;
    } else {
      add_code(codes, (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0'));
    }
  }
  return codes;
}

std::string parse_user_agent(const ConfigSource& src, const toml::node& node,
                             const std::string& key_context) {
  const std::string& text = expect_nonempty_string(src, node, key_context, kMaxHeaderValueLength);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c > 0x7e) {
      src.fail(node.source(), key_context,
               quote_utf8(text) + " contains a byte that is not printable ASCII at offset " +
                   std::to_string(i));
    }
  }
  return text;
}

std::string parse_uri_value(const ConfigSource& src, const toml::node& node,
                            const std::string& key_context, std::string_view example) {
  if (node.as_string() == nullptr) {
    src.fail(
        node.source(), key_context,
        "expected a SIP URI string like \"" + std::string(example) + "\", got " + type_of(node));
  }
  const std::string& text = node.as_string()->get();
  check_length(src, node, key_context, text, kMaxHeaderValueLength);
  std::string error;
  if (!parse_sip_uri(text, &error))
    src.fail(node.source(), key_context, quote_utf8(text) + ": " + error);
  return text;
}

}  // namespace stx::config_impl

namespace stx {

std::string_view to_string(ProbeMethod m) {
  switch (m) {
    case ProbeMethod::register_:
      return "register";
    case ProbeMethod::invite:
      return "invite";
    case ProbeMethod::options:
      break;
  }
  return "options";
}

}  // namespace stx

namespace stx::config_impl {

ProbeMethod parse_method(const ConfigSource& src, const toml::node& node,
                         const std::string& key_context) {
  return parse_choice<ProbeMethod>(src, node, key_context,
                                   {{"options", ProbeMethod::options},
                                    {"register", ProbeMethod::register_},
                                    {"invite", ProbeMethod::invite}});
}

Millis parse_invite_cancel_after(const ConfigSource& src, const toml::node& node,
                                 const std::string& key_context) {
  const Millis d = parse_duration_value(src, node, key_context, "2s");
  if (d > kMaxInviteCancelAfter) {
    src.fail(
        node.source(), key_context,
        "must be at most " + format_duration(kMaxInviteCancelAfter) + ", got " + quoted_text(node));
  }
  return d;
}

int parse_min_contacts(const ConfigSource& src, const toml::node& node,
                       const std::string& key_context) {
  const auto* i = node.as_integer();
  if (i == nullptr) {
    src.fail(node.source(), key_context, "expected an integer, got " + type_of(node));
  }
  const std::int64_t v = i->get();
  if (v < 1 || v > kMaxMinContacts) {
    src.fail(node.source(), key_context,
             "must be from 1 to " + std::to_string(kMaxMinContacts) + ", got " + std::to_string(v));
  }
  return static_cast<int>(v);
}

std::string parse_ruri_user(const ConfigSource& src, const toml::node& node,
                            const std::string& key_context) {
  const std::string& text = expect_nonempty_string(src, node, key_context, kMaxRuriUserLength);
  std::string error;
  if (!is_valid_sip_user(text, &error)) {
    src.fail(node.source(), key_context,
             error +
                 "; want RFC 3261 user characters: letters, digits, -_.!~*'() &=+$,;?/ and "
                 "%HH escapes");
  }
  return text;
}

std::string parse_auth_user(const ConfigSource& src, const toml::node& node,
                            const std::string& key_context) {
  const std::string& text = expect_nonempty_string(src, node, key_context, kMaxHeaderValueLength);
  check_no_control_characters(src, node, key_context, text);
  return text;
}

// Messages here never quote the value: it is a secret.
std::string parse_password(const ConfigSource& src, const toml::node& node,
                           const std::string& key_context) {
  const std::string& text = expect_string(src, node, key_context);
  if (text.empty()) src.fail(node.source(), key_context, "must not be empty");
  if (text.size() > kMaxPasswordLength) {
    src.fail(node.source(), key_context,
             "longer than " + std::to_string(kMaxPasswordLength) + " bytes");
  }
  return text;
}

std::string parse_password_env(const ConfigSource& src, const toml::node& node,
                               const std::string& key_context, std::string& password) {
  const std::string& name = expect_string(src, node, key_context);
  const bool valid =
      !name.empty() && name.size() <= kMaxNameLength && !is_digit(name[0]) &&
      std::all_of(name.begin(), name.end(), [](char c) { return is_alnum(c) || c == '_'; });
  if (!valid) {
    src.fail(
        node.source(), key_context,
        quote_utf8(name) + " is not an environment variable name (want [A-Za-z_][A-Za-z0-9_]*)");
  }
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    src.fail(node.source(), key_context,
             "environment variable " + quote_utf8(name) + " is not set");
  }
  if (*value == '\0') {
    src.fail(node.source(), key_context, "environment variable " + quote_utf8(name) + " is empty");
  }
  password = value;
  if (password.size() > kMaxPasswordLength) {
    src.fail(node.source(), key_context,
             "environment variable " + quote_utf8(name) + " is longer than " +
                 std::to_string(kMaxPasswordLength) + " bytes");
  }
  return name;
}

}  // namespace stx::config_impl
