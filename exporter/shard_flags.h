#pragma once
// The --shard.* flags: which share of the configured targets this replica probes.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/sharding.h"

namespace stx {

// More shards than this would only slow every reload (each target ranks every shard).
inline constexpr std::uint32_t kMaxShards = 1000;

// The --shard.* values as given (defaults when not), checked together once all are read.
struct ShardFlags {
  std::string count = "1";
  std::string index = "0";  // a number, or "hostname"
  std::string replicas = "1";
};

// Where --shard.index=hostname reads the number; tests pass their own.
using HostnameSource = std::function<std::string()>;
std::string machine_hostname();

// The number after the last '-' of a StatefulSet pod's hostname ("sip-exporter-2": 2).
std::optional<std::uint32_t> hostname_ordinal(std::string_view hostname);

// Checks `given` and sets `out`; returns an error naming the flag, or empty.
std::string settle_shard(const ShardFlags& given, const HostnameSource& hostname, Shard& out);

}  // namespace stx
