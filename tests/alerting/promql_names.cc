#include "promql_names.h"

#include <cctype>
#include <stdexcept>

namespace stx::alerting {
namespace {

const std::set<std::string, std::less<>> kAggregations = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
    "topk", "quantile"};
// Keywords followed by a parenthesised label list, not an expression.
const std::set<std::string, std::less<>> kLabelListKeywords = {
    "by", "without", "on", "ignoring", "group_left", "group_right"};
const std::set<std::string, std::less<>> kKeywords = {"and", "or", "unless", "bool", "offset",
                                                      "inf", "nan", "atan2"};

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool ident_char(char c) { return ident_start(c) || std::isdigit(static_cast<unsigned char>(c)); }

// Index just past the string literal starting at `i` (quote char at i).
std::size_t skip_string(std::string_view s, std::size_t i) {
  char quote = s[i++];
  while (i < s.size() && s[i] != quote) {
    if (s[i] == '\\' && quote != '`') ++i;
    ++i;
  }
  return i < s.size() ? i + 1 : i;
}

// Index just past the bracket group opened at `i`, strings inside skipped.
std::size_t skip_group(std::string_view s, std::size_t i, char open, char close) {
  int depth = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '"' || c == '\'' || c == '`') {
      i = skip_string(s, i);
      continue;
    }
    if (c == open) ++depth;
    if (c == close && --depth == 0) return i + 1;
    ++i;
  }
  throw std::invalid_argument("unbalanced '" + std::string(1, open) + "' in: " + std::string(s));
}

std::size_t skip_space(std::string_view s, std::size_t i) {
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

}  // namespace

std::set<std::string> metric_names(std::string_view s) {
  std::set<std::string> names;
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '"' || c == '\'' || c == '`') {
      i = skip_string(s, i);
    } else if (c == '{') {
      i = skip_group(s, i, '{', '}');  // label matchers
    } else if (c == '[') {
      i = skip_group(s, i, '[', ']');  // range or subquery
    } else if (c == '$') {
      // Grafana variable: $name, ${name} or ${name:format}.
      ++i;
      if (i < s.size() && s[i] == '{') {
        i = skip_group(s, i, '{', '}');
      } else {
        while (i < s.size() && ident_char(s[i])) ++i;
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      // Numbers and durations: 0.95, 1e3, 0x1f, 5m.
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    } else if (ident_start(c)) {
      std::size_t start = i;
      while (i < s.size() && ident_char(s[i])) ++i;
      std::string word(s.substr(start, i - start));
      std::size_t next = skip_space(s, i);
      bool call = next < s.size() && s[next] == '(';
      if (kLabelListKeywords.count(word) > 0) {
        if (call) i = skip_group(s, next, '(', ')');
      } else if (call || kAggregations.count(word) > 0 || kKeywords.count(word) > 0) {
        // A function, an aggregation (its `by (...)` may come first) or an operator.
      } else {
        names.insert(word);
      }
    } else {
      ++i;
    }
  }
  return names;
}

std::set<std::string> label_values_metric_names(std::string_view query) {
  std::size_t i = skip_space(query, 0);
  constexpr std::string_view fn = "label_values";
  if (query.substr(i, fn.size()) != fn) {
    throw std::invalid_argument("not a label_values() query: " + std::string(query));
  }
  i = skip_space(query, i + fn.size());
  if (i >= query.size() || query[i] != '(') {
    throw std::invalid_argument("label_values without '(': " + std::string(query));
  }
  std::size_t end = skip_group(query, i, '(', ')');
  std::string_view args = query.substr(i + 1, end - i - 2);
  // The last top-level comma separates the selector from the label name.
  std::size_t comma = std::string_view::npos;
  for (std::size_t j = 0; j < args.size(); ++j) {
    if (args[j] == '{') j = skip_group(args, j, '{', '}') - 1;
    else if (args[j] == '"') j = skip_string(args, j) - 1;
    else if (args[j] == ',') comma = j;
  }
  if (comma == std::string_view::npos) return {};  // label_values(label): every metric
  return metric_names(args.substr(0, comma));
}

}  // namespace stx::alerting
