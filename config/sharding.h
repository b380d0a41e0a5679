#pragma once
// Which targets one replica of a sharded deployment probes: every replica reads the same
// configuration and keeps the targets it owns (rendezvous hashing on the target's name).
#include <cstdint>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace stx {

// This replica's place: shard `index` of `count`, each target owned by `replicas` shards.
struct Shard {
  std::uint32_t index = 0;
  std::uint32_t count = 1;
  std::uint32_t replicas = 1;
  bool operator==(const Shard&) const = default;
};

// The rendezvous weight of `name` on shard `shard`: FNV-1a (64 bit) over the name's bytes and
// then the shard number's 4 bytes (little endian), spread by murmur3's fmix64. Fixed by this
// definition, not by the standard library, so every build and platform partitions alike.
std::uint64_t shard_weight(std::string_view name, std::uint32_t shard);

// Whether `shard.index` is among the `shard.replicas` shards of highest weight for `name`
// (equal weights: the lower shard number first).
bool owns(std::string_view name, const Shard& shard);

// Drops the targets `shard` does not own, keeping the others' order.
void keep_owned(std::vector<TargetConfig>& targets, const Shard& shard);

}  // namespace stx
