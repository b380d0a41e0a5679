// TOML -> validated Config.
//
// Nothing is guessed: every key is checked for type and range, unknown keys are
// errors, and the first problem throws a ConfigError with a one-line
// "FILE:LINE:COL: [table]: key: message" pointing at the offending node.
//
// [defaults] and [[target]] tables share one set of validators (apply_setting), and so do
// [module.<name>] tables; the URI of a /probe request goes through the same checks as a
// target's `uri` (parse_target_uri).
#include "config/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "config/duration.h"
#include "probes/message_text.h"
#include "version.h"

namespace stx {
namespace {

using Millis = std::chrono::milliseconds;

constexpr std::size_t kMaxNameLength = 128;
constexpr std::size_t kMaxUriLength = 1024;
constexpr std::size_t kMaxHeaderValueLength = 256;  // from, user_agent
constexpr std::size_t kMaxLabelValueLength = 1024;
constexpr std::size_t kMaxModuleNameLength = 64;
constexpr std::int64_t kMinCount = 1;
constexpr std::int64_t kMaxCount = 100;
constexpr Millis kMinInterval{1'000};
constexpr Millis kWarnInterval{10'000};
constexpr Millis kMaxInterval{24 * 3'600'000};
constexpr Millis kMaxModuleTimeout{60'000};  // a /probe request must not hang
constexpr const char* kDefaultModule = "default";
constexpr const char* kDefaultFrom = "sip:sip_trunk_exporter@localhost";

// Label names the exporter sets itself (or Prometheus attaches on scrape).
constexpr std::string_view kReservedLabels[] = {
    "target",  "code", "result",  "reason",   "uri",      "transport", "server",
    "address", "le",   "version", "revision", "instance", "job"};

constexpr std::string_view kTopLevelKeys[] = {"exporter", "defaults", "target", "module"};
constexpr std::string_view kExporterKeys[] = {"rtt_buckets"};
constexpr std::string_view kDefaultsKeys[] = {
    "interval",      "timeout", "failures_before_down", "successes_before_up",
    "healthy_codes", "from",    "user_agent",           "labels"};
constexpr std::string_view kTargetKeys[] = {
    "name",          "uri",  "interval",   "timeout", "failures_before_down", "successes_before_up",
    "healthy_codes", "from", "user_agent", "labels"};
constexpr std::string_view kModuleKeys[] = {"timeout", "healthy_codes", "from", "user_agent"};

// Replaces control characters so that a foreign message stays on one line.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc()) return std::to_string(v);
  return std::string(buf.data(), end);
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

template <std::size_t N>
bool is_one_of(std::string_view key, const std::string_view (&allowed)[N]) {
  return std::find(std::begin(allowed), std::end(allowed), key) != std::end(allowed);
}

// `unknown key "intervall" (did you mean "interval"?)`
template <std::size_t N>
std::string unknown_key_message(std::string_view what, std::string_view key,
                                const std::string_view (&allowed)[N]) {
  std::string message = std::string(what) + " " + quote_utf8(key);
  std::size_t best = 3;
  std::string_view suggestion;
  for (std::string_view candidate : allowed) {
    std::size_t distance = edit_distance(key, candidate);
    if (distance < best) {
      best = distance;
      suggestion = candidate;
    }
  }
  if (!suggestion.empty()) message += " (did you mean " + quote_utf8(suggestion) + "?)";
  return message;
}

// Entries of a table in document order (toml::table iterates by key).
std::vector<std::pair<const toml::key*, const toml::node*>> in_document_order(
    const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [key, node] : table) entries.emplace_back(&key, &node);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return entries;
}

// "longer than 1024 bytes (1026)" for a target URI that is too long, else empty.
std::string uri_length_error(std::string_view text) {
  if (text.size() <= kMaxUriLength) return "";
  return "longer than " + std::to_string(kMaxUriLength) + " bytes (" + std::to_string(text.size()) +
         ")";
}

// A target URI (a [[target]]'s `uri` or a /probe request's `target`): a SIP URI the prober can
// use. Returns nullopt with a one-line reason in *error.
std::optional<SipUri> parse_target_uri(std::string_view text, std::string* error) {
  std::optional<SipUri> uri = parse_sip_uri(text, error);
  if (!uri) return std::nullopt;
  if (uri->secure) {
    *error = "transport \"tls\" (sips:) is not supported yet (only udp)";
    return std::nullopt;
  }
  if (!uri->transport.empty() && uri->transport != "udp") {
    *error = "transport " + quote_utf8(uri->transport) + " is not supported yet (only udp)";
    return std::nullopt;
  }
  return uri;
}

// 1-64 characters of [A-Za-z0-9_-]: safe in a query string, a log line and a label value.
bool is_valid_module_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxModuleNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// Settings shared by [defaults], [[target]] and [module.<name>], with the nodes they came from.
struct Settings {
  Millis interval{30'000};
  Millis timeout{5'000};
  const toml::node* interval_node = nullptr;
  const toml::node* timeout_node = nullptr;
  int failures_before_down = 3;
  int successes_before_up = 1;
  HealthyCodes healthy_codes;
  std::string from = kDefaultFrom;
  std::string user_agent = default_user_agent();
  std::map<std::string, std::string> labels;

  Settings() { healthy_codes.classes[2] = true; }

  // A TargetConfig with these settings; name, uri and parsed_uri are left empty.
  TargetConfig resolved() const {
    TargetConfig t;
    t.interval = interval;
    t.timeout = timeout;
    t.failures_before_down = failures_before_down;
    t.successes_before_up = successes_before_up;
    t.healthy_codes = healthy_codes;
    t.from = from;
    t.user_agent = user_agent;
    t.labels.assign(labels.begin(), labels.end());  // std::map: sorted by name
    return t;
  }
};

class Parser {
 public:
  explicit Parser(std::string_view source_name) : source_name_(source_name) {}

  Config run(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, source_name_);
    } catch (const toml::parse_error& e) {
      throw ConfigError(location(e.source()) + ": " + one_line(e.description()));
    }

    for (const auto& [key, node] : in_document_order(root)) {
      if (!is_one_of(key->str(), kTopLevelKeys)) {
        fail(key->source(), "",
             unknown_key_message("unknown top-level key", key->str(), kTopLevelKeys));
      }
    }

    config_.exporter.rtt_buckets = default_rtt_buckets();
    if (const toml::node* exporter = root.get("exporter")) parse_exporter(*exporter);
    if (const toml::node* defaults = root.get("defaults")) parse_defaults(*defaults);
    if (const toml::node* targets = root.get("target")) parse_targets(*targets);
    parse_modules(root.get("module"));

    if (config_.targets.empty()) {
      config_.warnings.push_back(source_name_ +
                                 ": no [[target]] tables; the exporter will probe nothing");
    }
    return std::move(config_);
  }

 private:
  std::string location(const toml::source_region& where) const {
    if (where.begin.line == 0) return source_name_;
    return source_name_ + ":" + std::to_string(where.begin.line) + ":" +
           std::to_string(where.begin.column);
  }

  std::string format(const toml::source_region& where, std::string_view context,
                     std::string_view message) const {
    std::string out = location(where) + ": ";
    if (!context.empty()) out += std::string(context) + ": ";
    out += message;
    return out;
  }

  [[noreturn]] void fail(const toml::source_region& where, std::string_view context,
                         std::string_view message) const {
    throw ConfigError(format(where, context, message));
  }

  void warn(const toml::source_region& where, std::string_view context, std::string_view message) {
    config_.warnings.push_back(format(where, context, message));
  }

  // --- [exporter] ---------------------------------------------------------

  void parse_exporter(const toml::node& node) {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      fail(node.source(), "", "exporter: expected a table ([exporter]), got " + type_name(node));
    }
    const std::string context = "[exporter]";
    for (const auto& [key, value] : in_document_order(*table)) {
      if (!is_one_of(key->str(), kExporterKeys)) {
        fail(key->source(), context, unknown_key_message("unknown key", key->str(), kExporterKeys));
      }
    }
    if (const toml::node* buckets = table->get("rtt_buckets")) {
      config_.exporter.rtt_buckets = parse_rtt_buckets(*buckets, context);
    }
  }

  std::vector<double> parse_rtt_buckets(const toml::node& node, const std::string& context) {
    const std::string key_context = context + ": rtt_buckets";
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      fail(node.source(), key_context,
           "expected an array of numbers like [0.01, 0.1, 1], got " + type_name(node));
    }
    if (array->empty()) fail(node.source(), key_context, "must not be empty");
    std::vector<double> buckets;
    for (const toml::node& element : *array) {
      double value;
      if (const auto* i = element.as_integer()) {
        value = static_cast<double>(i->get());
      } else if (const auto* f = element.as_floating_point()) {
        value = f->get();
      } else {
        fail(element.source(), key_context, "expected a number, got " + type_name(element));
      }
      if (!std::isfinite(value)) {
        fail(element.source(), key_context, format_number(value) + " is not a finite number");
      }
      if (value <= 0) {
        fail(element.source(), key_context, "bucket " + format_number(value) + " must be positive");
      }
      if (!buckets.empty() && value <= buckets.back()) {
        fail(element.source(), key_context,
             "bucket " + format_number(value) + " is not greater than the previous bucket " +
                 format_number(buckets.back()) + " (buckets must be strictly increasing)");
      }
      buckets.push_back(value);
    }
    return buckets;
  }

  // --- [defaults] ---------------------------------------------------------

  void parse_defaults(const toml::node& node) {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      fail(node.source(), "", "defaults: expected a table ([defaults]), got " + type_name(node));
    }
    const std::string context = "[defaults]";
    for (const auto& [key, value] : in_document_order(*table)) {
      if (key->str() == "name" || key->str() == "uri") {
        fail(key->source(), context,
             "unknown key " + quote_utf8(key->str()) + " (" + std::string(key->str()) +
                 " can only be set in a [[target]] table)");
      }
      if (!is_one_of(key->str(), kDefaultsKeys)) {
        fail(key->source(), context, unknown_key_message("unknown key", key->str(), kDefaultsKeys));
      }
      apply_setting(key->str(), *value, context, defaults_);
    }
    if (defaults_.interval_node != nullptr && defaults_.interval < kWarnInterval) {
      warn_short_interval(*defaults_.interval_node, context, defaults_.interval);
    }
  }

  // --- settings shared by [defaults] and [[target]] ------------------------

  void apply_setting(std::string_view key, const toml::node& node, const std::string& context,
                     Settings& s) {
    const std::string key_context = context + ": " + std::string(key);
    if (key == "interval") {
      s.interval = parse_duration_value(node, key_context, "30s");
      if (s.interval < kMinInterval) {
        fail(node.source(), key_context,
             "must be at least " + format_duration(kMinInterval) + ", got " +
                 quote_utf8(*node.value<std::string_view>()));
      }
      check_at_most(node, key_context, s.interval, kMaxInterval);
      s.interval_node = &node;
    } else if (key == "timeout") {
      s.timeout = parse_duration_value(node, key_context, "5s");
      if (s.timeout <= Millis::zero()) {
        fail(node.source(), key_context,
             "must be greater than 0, got " + quote_utf8(*node.value<std::string_view>()));
      }
      s.timeout_node = &node;
    } else if (key == "failures_before_down") {
      s.failures_before_down = parse_count(node, key_context);
    } else if (key == "successes_before_up") {
      s.successes_before_up = parse_count(node, key_context);
    } else if (key == "healthy_codes") {
      s.healthy_codes = parse_healthy_codes(node, key_context);
    } else if (key == "from") {
      s.from = parse_from(node, key_context);
    } else if (key == "user_agent") {
      s.user_agent = parse_user_agent(node, key_context);
    } else if (key == "labels") {
      parse_labels(node, key_context, s.labels);
    }
  }

  // `must be at most 24h, got "25h"` for a duration `node` whose parsed value is `value`.
  void check_at_most(const toml::node& node, const std::string& key_context, Millis value,
                     Millis max) const {
    if (value > max) {
      fail(node.source(), key_context,
           "must be at most " + format_duration(max) + ", got " +
               quote_utf8(*node.value<std::string_view>()));
    }
  }

  Millis parse_duration_value(const toml::node& node, const std::string& key_context,
                              std::string_view example) {
    const auto* str = node.as_string();
    if (str == nullptr) {
      fail(node.source(), key_context,
           "expected a duration string like \"" + std::string(example) + "\", got " +
               type_name(node));
    }
    std::string error;
    std::optional<Millis> d = parse_duration(str->get(), &error);
    if (!d) fail(node.source(), key_context, error);
    return *d;
  }

  int parse_count(const toml::node& node, const std::string& key_context) {
    const auto* i = node.as_integer();
    if (i == nullptr)
      fail(node.source(), key_context, "expected an integer, got " + type_name(node));
    std::int64_t v = i->get();
    if (v < kMinCount || v > kMaxCount) {
      fail(node.source(), key_context,
           "must be from " + std::to_string(kMinCount) + " to " + std::to_string(kMaxCount) +
               ", got " + std::to_string(v));
    }
    return static_cast<int>(v);
  }

  HealthyCodes parse_healthy_codes(const toml::node& node, const std::string& key_context) {
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      fail(node.source(), key_context,
           "expected an array like [\"2xx\", \"404\"], got " + type_name(node));
    }
    if (array->empty()) fail(node.source(), key_context, "must not be empty");
    HealthyCodes codes;
    for (const toml::node& element : *array) {
      const std::string provisional =
          " is not allowed: provisional (1xx) responses are never final";
      if (const auto* i = element.as_integer()) {
        std::int64_t code = i->get();
        std::string shown = std::to_string(code);
        if (code >= 100 && code <= 199) fail(element.source(), key_context, shown + provisional);
        if (code < 200 || code > 699) {
          fail(element.source(), key_context,
               shown + " is not a final status code (want 200 to 699, or a class like \"2xx\")");
        }
        add_code(codes, static_cast<int>(code));
        continue;
      }
      const auto* str = element.as_string();
      if (str == nullptr) {
        fail(element.source(), key_context,
             "expected a string like \"2xx\" or an integer code, got " + type_name(element));
      }
      std::string_view text = str->get();
      bool digit0 = text.size() == 3 && text[0] >= '0' && text[0] <= '9';
      bool is_class = digit0 && (text[1] == 'x' || text[1] == 'X') && text[1] == text[2];
      bool is_code = digit0 && text[1] >= '0' && text[1] <= '9' && text[2] >= '0' && text[2] <= '9';
      if (!is_class && !is_code) {
        fail(element.source(), key_context,
             quote_utf8(text) + " is not a status class like \"2xx\" or a code like \"404\"");
      }
      if (text[0] == '1') fail(element.source(), key_context, quote_utf8(text) + provisional);
      if (text[0] < '2' || text[0] > '6') {
        fail(element.source(), key_context,
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

  static void add_code(HealthyCodes& codes, int code) {
    if (std::find(codes.codes.begin(), codes.codes.end(), code) == codes.codes.end()) {
      codes.codes.push_back(code);
    }
  }

  std::string parse_from(const toml::node& node, const std::string& key_context) {
    const auto* str = node.as_string();
    if (str == nullptr) {
      fail(node.source(), key_context,
           std::string("expected a SIP URI string like \"") + kDefaultFrom + "\", got " +
               type_name(node));
    }
    const std::string& text = str->get();
    if (text.size() > kMaxHeaderValueLength) {
      fail(node.source(), key_context,
           "longer than " + std::to_string(kMaxHeaderValueLength) + " bytes (" +
               std::to_string(text.size()) + ")");
    }
    std::string error;
    if (!parse_sip_uri(text, &error))
      fail(node.source(), key_context, quote_utf8(text) + ": " + error);
    return text;
  }

  std::string parse_user_agent(const toml::node& node, const std::string& key_context) {
    const auto* str = node.as_string();
    if (str == nullptr)
      fail(node.source(), key_context, "expected a string, got " + type_name(node));
    const std::string& text = str->get();
    if (text.empty()) fail(node.source(), key_context, "must not be empty");
    if (text.size() > kMaxHeaderValueLength) {
      fail(node.source(), key_context,
           "longer than " + std::to_string(kMaxHeaderValueLength) + " bytes (" +
               std::to_string(text.size()) + ")");
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(text[i]);
      if (c < 0x20 || c > 0x7e) {
        fail(node.source(), key_context,
             quote_utf8(text) + " contains a byte that is not printable ASCII at offset " +
                 std::to_string(i));
      }
    }
    return text;
  }

  void parse_labels(const toml::node& node, const std::string& key_context,
                    std::map<std::string, std::string>& labels) {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      fail(node.source(), key_context,
           "expected a table like { site = \"nyc\" }, got " + type_name(node));
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
        fail(key->source(), key_context,
             "name " + quote_utf8(name) +
                 " is not a valid label name (want [a-zA-Z_][a-zA-Z0-9_]*)");
      }
      if (name.starts_with("__")) {
        fail(key->source(), key_context,
             "name " + quote_utf8(name) + " is reserved (names starting with \"__\" are internal)");
      }
      if (is_one_of(name, kReservedLabels)) {
        fail(key->source(), key_context,
             "name " + quote_utf8(name) + " is reserved for the exporter's own labels");
      }
      const auto* str = value->as_string();
      if (str == nullptr) {
        fail(value->source(), key_context + "." + name,
             "expected a string, got " + type_name(*value));
      }
      if (str->get().size() > kMaxLabelValueLength) {
        fail(value->source(), key_context + "." + name,
             "value is longer than " + std::to_string(kMaxLabelValueLength) + " bytes (" +
                 std::to_string(str->get().size()) + ")");
      }
      labels.insert_or_assign(name, str->get());
    }
  }

  void warn_short_interval(const toml::node& node, const std::string& context, Millis interval) {
    warn(node.source(), context + ": interval",
         format_duration(interval) + " is shorter than " + format_duration(kWarnInterval) +
             "; some providers such as Twilio ban OPTIONS pingers faster than one per 10-15 s");
  }

  // --- [[target]] ---------------------------------------------------------

  void parse_targets(const toml::node& node) {
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      fail(node.source(), "",
           "target: expected an array of tables ([[target]]), got " + type_name(node));
    }
    std::size_t number = 0;
    for (const toml::node& element : *array) {
      ++number;
      parse_target(element, number);
    }
  }

  void parse_target(const toml::node& node, std::size_t number) {
    std::string context = "[[target]] #" + std::to_string(number);
    const toml::table* table = node.as_table();
    if (table == nullptr) fail(node.source(), context, "expected a table, got " + type_name(node));

    TargetConfig target;

    // The name comes first so that every later message can mention it.
    const toml::node* name_node = table->get("name");
    if (name_node != nullptr) {
      target.name = parse_name(*name_node, context);
      auto used = names_.find(target.name);
      if (used != names_.end()) {
        fail(name_node->source(), context,
             "name " + quote_utf8(target.name) + " is already used by [[target]] #" +
                 std::to_string(used->second.first) + " (line " +
                 std::to_string(used->second.second) + ")");
      }
      names_.emplace(target.name, std::make_pair(number, name_node->source().begin.line));
      context += " " + quote_utf8(target.name);
    }

    Settings s = defaults_;
    const toml::node* uri_node = nullptr;
    const toml::node* interval_node = nullptr;
    const toml::node* timeout_node = nullptr;
    for (const auto& [key, value] : in_document_order(*table)) {
      const std::string_view k = key->str();
      if (!is_one_of(k, kTargetKeys)) {
        fail(key->source(), context, unknown_key_message("unknown key", k, kTargetKeys));
      }
      if (k == "name") continue;
      if (k == "uri") {
        uri_node = value;
        parse_uri(*value, context, target);
        continue;
      }
      if (k == "interval") interval_node = value;
      if (k == "timeout") timeout_node = value;
      apply_setting(k, *value, context, s);
    }
    if (name_node == nullptr) fail(node.source(), context, "missing required key \"name\"");
    if (uri_node == nullptr) fail(node.source(), context, "missing required key \"uri\"");

    if (s.timeout >= s.interval) {
      // Point at what the user wrote: the target's own keys first, then [defaults].
      const toml::node* where = timeout_node != nullptr     ? timeout_node
                                : interval_node != nullptr  ? interval_node
                                : s.timeout_node != nullptr ? s.timeout_node
                                                            : s.interval_node;
      fail(where != nullptr ? where->source() : node.source(), context,
           "timeout (" + format_duration(s.timeout) + ") must be shorter than interval (" +
               format_duration(s.interval) + ")");
    }
    if (interval_node != nullptr && s.interval < kWarnInterval) {
      warn_short_interval(*interval_node, context, s.interval);
    }

    TargetConfig resolved = s.resolved();
    resolved.name = std::move(target.name);
    resolved.uri = std::move(target.uri);
    resolved.parsed_uri = std::move(target.parsed_uri);
    config_.targets.push_back(std::move(resolved));
  }

  std::string parse_name(const toml::node& node, const std::string& context) {
    const std::string key_context = context + ": name";
    const auto* str = node.as_string();
    if (str == nullptr)
      fail(node.source(), key_context, "expected a string, got " + type_name(node));
    const std::string& name = str->get();
    if (name.empty()) fail(node.source(), key_context, "must not be empty");
    if (name.size() > kMaxNameLength) {
      fail(node.source(), key_context,
           "longer than " + std::to_string(kMaxNameLength) + " bytes (" +
               std::to_string(name.size()) + ")");
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(name[i]);
      // C0 controls, DEL, and C1 controls (U+0080..U+009F, UTF-8 C2 80..C2 9F).
      bool c1 = c == 0xc2 && i + 1 < name.size() &&
                static_cast<unsigned char>(name[i + 1]) >= 0x80 &&
                static_cast<unsigned char>(name[i + 1]) <= 0x9f;
      if (c < 0x20 || c == 0x7f || c1) {
        fail(node.source(), key_context,
             quote_utf8(name) + " contains a control character at offset " + std::to_string(i));
      }
    }
    return name;
  }

  void parse_uri(const toml::node& node, const std::string& context, TargetConfig& target) {
    const auto* str = node.as_string();
    if (str == nullptr) {
      fail(node.source(), context + ": uri",
           "expected a SIP URI string like \"sip:203.0.113.7:5060\", got " + type_name(node));
    }
    const std::string& text = str->get();
    if (std::string error = uri_length_error(text); !error.empty()) {
      fail(node.source(), context + ": uri", error);
    }
    std::string error;
    std::optional<SipUri> uri = parse_target_uri(text, &error);
    if (!uri) fail(node.source(), context + ": uri " + quote_utf8(text), error);
    target.uri = text;
    target.parsed_uri = std::move(*uri);
  }

  // --- [module.<name>] -----------------------------------------------------

  void parse_modules(const toml::node* node) {
    std::vector<ModuleConfig>& modules = config_.modules;
    modules.push_back(default_module());
    if (node != nullptr) {
      const toml::table* table = node->as_table();
      if (table == nullptr) {
        fail(node->source(), "",
             "module: expected a table of modules ([module.<name>]), got " + type_name(*node));
      }
      for (const auto& [key, value] : in_document_order(*table)) {
        modules.push_back(parse_module(*key, *value));
      }
    }
    std::sort(modules.begin(), modules.end(),
              [](const ModuleConfig& a, const ModuleConfig& b) { return a.name < b.name; });
  }

  // "default" is [defaults] itself, with a timeout that fits a /probe request.
  ModuleConfig default_module() {
    ModuleConfig module{kDefaultModule, defaults_.resolved()};
    module.settings.labels.clear();
    if (module.settings.timeout > kMaxModuleTimeout) {
      // Not an error: the timeout is fine for [[target]] tables, which may not use /probe.
      warn(defaults_.timeout_node->source(), "[defaults]: timeout",
           format_duration(module.settings.timeout) + " is longer than the " +
               format_duration(kMaxModuleTimeout) +
               " allowed for /probe modules; /probe requests with module \"default\" use " +
               format_duration(kMaxModuleTimeout));
      module.settings.timeout = kMaxModuleTimeout;
    }
    return module;
  }

  ModuleConfig parse_module(const toml::key& key, const toml::node& node) {
    const std::string name(key.str());
    if (name == kDefaultModule) {
      fail(key.source(), "[module.default]",
           "the name \"default\" is reserved: the default module is [defaults] itself (set its "
           "keys there)");
    }
    if (!is_valid_module_name(name)) {
      fail(key.source(), "",
           "module: name " + quote_utf8(name) + " is not a valid module name (want 1-" +
               std::to_string(kMaxModuleNameLength) + " characters of A-Z a-z 0-9 _ -)");
    }
    const std::string context = "[module." + name + "]";
    const toml::table* table = node.as_table();
    if (table == nullptr) fail(node.source(), context, "expected a table, got " + type_name(node));

    Settings s = defaults_;
    const toml::node* timeout_node = nullptr;
    for (const auto& [k, value] : in_document_order(*table)) {
      const std::string_view key_name = k->str();
      if (std::string reason = not_for_modules(key_name); !reason.empty()) {
        fail(k->source(), context + ": " + std::string(key_name),
             "not used by /probe modules (" + reason + ")");
      }
      if (!is_one_of(key_name, kModuleKeys)) {
        fail(k->source(), context, unknown_key_message("unknown key", key_name, kModuleKeys));
      }
      if (key_name == "timeout") timeout_node = value;
      apply_setting(key_name, *value, context, s);
    }
    if (timeout_node != nullptr) {
      check_at_most(*timeout_node, context + ": timeout", s.timeout, kMaxModuleTimeout);
    } else if (s.timeout > kMaxModuleTimeout) {
      fail(s.timeout_node->source(), context + ": timeout",
           format_duration(s.timeout) + " from [defaults] is longer than the " +
               format_duration(kMaxModuleTimeout) + " allowed for /probe modules; set timeout in " +
               context);
    }

    ModuleConfig module{name, s.resolved()};
    module.settings.labels.clear();
    return module;
  }

  // Why a per-target key has no place in a module, or empty if it does.
  static std::string not_for_modules(std::string_view key) {
    if (key == "interval" || key == "failures_before_down" || key == "successes_before_up") {
      return "a /probe request runs one probe";
    }
    if (key == "labels") return "add labels with relabeling in the Prometheus scrape config";
    if (key == "name" || key == "uri") return "the target comes from /probe?target=<sip-uri>";
    return "";
  }

  std::string source_name_;
  Config config_;
  Settings defaults_;
  std::map<std::string, std::pair<std::size_t, std::uint32_t>> names_;  // -> (#, line)
};

}  // namespace

bool HealthyCodes::contains(int code) const {
  if (code >= 100 && code <= 699 && classes[code / 100]) return true;
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

std::vector<double> default_rtt_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string default_user_agent() { return std::string("sip_trunk_exporter/") + kVersion; }

Config parse_config(std::string_view toml_text, std::string_view source_name) {
  return Parser(source_name).run(toml_text);
}

const ModuleConfig* find_module(const Config& config, std::string_view name) {
  auto it = std::lower_bound(
      config.modules.begin(), config.modules.end(), name,
      [](const ModuleConfig& module, std::string_view n) { return module.name < n; });
  if (it == config.modules.end() || it->name != name) return nullptr;
  return &*it;
}

TargetConfig target_for_probe(const ModuleConfig& module, std::string_view uri) {
  if (uri.empty()) {
    throw ConfigError("target: must not be empty (want a SIP URI like \"sip:203.0.113.7:5060\")");
  }
  if (std::string error = uri_length_error(uri); !error.empty()) {
    throw ConfigError("target: " + error);
  }
  std::string error;
  std::optional<SipUri> parsed = parse_target_uri(uri, &error);
  if (!parsed) throw ConfigError("target " + quote_utf8(uri) + ": " + error);
  TargetConfig target = module.settings;
  target.name = std::string(uri);
  target.uri = std::string(uri);
  target.parsed_uri = std::move(*parsed);
  return target;
}

Config load_config_file(const std::string& path) {
  auto cannot_read = [&path](int err) {
    return ConfigError(path + ": cannot read: " + std::generic_category().message(err));
  };
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw cannot_read(errno);
  std::string text;
  char buffer[65536];
  while (true) {
    std::size_t n = std::fread(buffer, 1, sizeof buffer, file);
    text.append(buffer, n);
    if (n < sizeof buffer) break;
  }
  int err = std::ferror(file) ? (errno != 0 ? errno : EIO) : 0;
  std::fclose(file);
  if (err != 0) throw cannot_read(err);
  return parse_config(text, path);
}

}  // namespace stx
