#include "config/shared_settings.h"

#include <functional>
#include <string>

namespace stx {
namespace {

void mix(std::size_t& h, std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); }

}  // namespace

// Equal sets hash equally: only fields that == compares, a few that tell most sets apart.
std::size_t hash_of(const SharedSettings& s) {
  const std::hash<std::string> text;
  std::size_t h = text(s.from);
  mix(h, static_cast<std::size_t>(s.interval.count()));
  mix(h, static_cast<std::size_t>(s.timeout.count()));
  mix(h, static_cast<std::size_t>(s.method));
  mix(h, s.transport ? static_cast<std::size_t>(*s.transport) + 1 : 0);
  mix(h, text(s.user_agent));
  mix(h, text(s.to));
  mix(h, text(s.contact));
  mix(h, text(s.aor));
  mix(h, text(s.source_address));
  mix(h, text(s.tls.server_name));
  mix(h, s.headers.size());
  mix(h, s.auth ? text(s.auth->user) : 0);
  return h;
}

namespace config_impl {

void SettingsInterner::intern(Shared<SharedSettings>& s) {
  const std::size_t h = hash_of(*s);
  const auto [first, last] = seen_.equal_range(h);
  for (auto it = first; it != last; ++it) {
    if (*it->second == *s) {
      s = it->second;
      return;
    }
  }
  seen_.emplace(h, s);
}

}  // namespace config_impl
}  // namespace stx
