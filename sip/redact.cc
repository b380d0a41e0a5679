#include "sip/redact.h"

namespace stx {
namespace {

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size() + 1) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = line[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != name[i]) return false;
  }
  const std::string_view rest = line.substr(name.size());
  const auto colon = rest.find_first_not_of(" \t");
  return colon != std::string_view::npos && rest[colon] == ':';
}

bool is_credentials_line(std::string_view line) {
  // Every stored request passes here: most lines are out at their first letter.
  if (line.empty()) return false;
  const char first = static_cast<char>(line[0] | 0x20);
  if (first != 'a' && first != 'p') return false;
  return iequals_prefix(line, "authorization") || iequals_prefix(line, "proxy-authorization");
}

// Whether the `z` (or `Z`) at `at` is that of a credentials header name: of "authorization"
// (the eighth letter) or "proxy-authorization" (the fourteenth) at the start of a line.
bool is_credentials_z(std::string_view message, std::size_t at) {
  for (const std::size_t offset : {std::size_t{7}, std::size_t{13}}) {
    if (at < offset) continue;
    const std::size_t begin = at - offset;
    if (begin != 0 && message[begin - 1] != '\n') continue;
    const auto end = message.find('\n', begin);
    if (is_credentials_line(message.substr(begin, end == std::string_view::npos ? end : end - begin)))
      return true;
  }
  return false;
}

}  // namespace

// Every stored request passes here. Both names have one letter z, a fixed distance from the
// line's start, and a request has few others (the branch's magic cookie): looking only at
// those is a memchr or two instead of reading every line.
bool has_credentials(std::string_view message) {
  for (const char z : {'z', 'Z'}) {
    for (auto at = message.find(z); at != std::string_view::npos; at = message.find(z, at + 1)) {
      if (is_credentials_z(message, at)) return true;
    }
  }
  return false;
}

std::string redact_credentials(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (std::size_t pos = 0; pos < message.size();) {
    const auto end = message.find('\n', pos);
    const auto line = message.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (is_credentials_line(line)) {
      out.append(line.substr(0, line.find(':') + 1));
      out.append(" Digest <credentials hidden>");
      if (!line.empty() && line.back() == '\r') out.push_back('\r');
    } else {
      out.append(line);
    }
    if (end == std::string_view::npos) break;
    out.push_back('\n');
    pos = end + 1;
  }
  return out;
}

}  // namespace stx
