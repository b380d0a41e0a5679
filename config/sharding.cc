#include "config/sharding.h"

namespace stx {
namespace {

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;

std::uint64_t fnv1a(std::uint64_t h, unsigned char byte) { return (h ^ byte) * kFnvPrime; }

// murmur3's 64-bit finalizer: FNV-1a alone barely changes the high bits when only the last
// byte (the shard number) differs, and rendezvous hashing compares whole weights.
std::uint64_t fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

// Whether shard `a` ranks before shard `b` for a name: higher weight, then lower number.
bool ranks_before(std::uint64_t weight_a, std::uint32_t a, std::uint64_t weight_b,
                  std::uint32_t b) {
  return weight_a != weight_b ? weight_a > weight_b : a < b;
}

}  // namespace

std::uint64_t shard_weight(std::string_view name, std::uint32_t shard) {
  std::uint64_t h = kFnvOffset;
  for (const char c : name) h = fnv1a(h, static_cast<unsigned char>(c));
  for (int i = 0; i < 4; ++i) h = fnv1a(h, static_cast<unsigned char>(shard >> (8 * i)));
  return fmix64(h);
}

bool owns(std::string_view name, const Shard& shard) {
  if (shard.replicas >= shard.count) return true;
  const std::uint64_t own = shard_weight(name, shard.index);
  std::uint32_t ahead = 0;  // shards that rank before this one
  for (std::uint32_t s = 0; s < shard.count && ahead < shard.replicas; ++s) {
    if (s != shard.index && ranks_before(shard_weight(name, s), s, own, shard.index)) ++ahead;
  }
  return ahead < shard.replicas;
}

void keep_owned(std::vector<TargetConfig>& targets, const Shard& shard) {
  std::erase_if(targets, [&](const TargetConfig& t) { return !owns(t.name, shard); });
}

}  // namespace stx
