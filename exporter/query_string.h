#pragma once
// URL query strings: "target=sip%3A192.0.2.1&module=default" -> decoded pairs.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stx {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Splits and percent-decodes ('+' is a space). Returns nullopt on a malformed escape.
std::optional<QueryParams> parse_query(std::string_view query);

// The first value of `key`, or nullopt.
std::optional<std::string> query_value(const QueryParams& params, std::string_view key);

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string url_encode(std::string_view text);

}  // namespace stx
