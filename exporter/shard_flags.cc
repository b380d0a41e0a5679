#include "exporter/shard_flags.h"

#include <unistd.h>

#include <charconv>

namespace stx {
namespace {

std::optional<std::uint32_t> whole_number(std::string_view s) {
  std::uint32_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// --shard.count or --shard.replicas: 1 to kMaxShards.
std::string count_flag(std::string_view flag, std::string_view value, std::uint32_t& out) {
  const auto v = whole_number(value);
  if (!v || *v < 1 || *v > kMaxShards) {
    return "flag --" + std::string(flag) + ": " + quoted(value) +
           " is not a whole number from 1 to " + std::to_string(kMaxShards);
  }
  out = *v;
  return {};
}

// --shard.index: a number, or the ordinal at the end of the hostname; `from` says which.
std::string index_flag(std::string_view value, const HostnameSource& hostname, std::uint32_t& out,
                       std::string& from) {
  if (value == "hostname") {
    const std::string host = hostname();
    const auto v = hostname_ordinal(host);
    if (!v) return "flag --shard.index: hostname " + quoted(host) + " does not end in -NUMBER";
    out = *v;
    from = " (from hostname " + quoted(host) + ")";
    return {};
  }
  const auto v = whole_number(value);
  if (!v) return "flag --shard.index: " + quoted(value) + " is not a whole number or \"hostname\"";
  out = *v;
  return {};
}

}  // namespace

std::string machine_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

std::optional<std::uint32_t> hostname_ordinal(std::string_view hostname) {
  const auto dash = hostname.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  return whole_number(hostname.substr(dash + 1));
}

std::string settle_shard(const ShardFlags& given, const HostnameSource& hostname, Shard& out) {
  Shard s;
  if (std::string e = count_flag("shard.count", given.count, s.count); !e.empty()) return e;
  if (std::string e = count_flag("shard.replicas", given.replicas, s.replicas); !e.empty()) {
    return e;
  }
  std::string from;
  if (std::string e = index_flag(given.index, hostname, s.index, from); !e.empty()) return e;
  const std::string count = " --shard.count=" + std::to_string(s.count);
  if (s.index >= s.count) {
    return "flag --shard.index: " + std::to_string(s.index) + from + " is not below" + count;
  }
  if (s.replicas > s.count) {
    return "flag --shard.replicas: " + std::to_string(s.replicas) + " is more than" + count;
  }
  out = s;
  return {};
}

}  // namespace stx
