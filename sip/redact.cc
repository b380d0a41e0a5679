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
  // Most lines are out at their first letter.
  if (line.empty()) return false;
  const char first = static_cast<char>(line[0] | 0x20);
  if (first != 'a' && first != 'p') return false;
  return iequals_prefix(line, "authorization") || iequals_prefix(line, "proxy-authorization");
}

}  // namespace

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
