// Rendezvous partition of targets among replicas (config/sharding.h): every target owned by
// exactly `replicas` shards, shares near even, few moves when the shard count changes, and a
// hash pinned so that no build, platform or version partitions differently.
#include "config/sharding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stx {
namespace {

std::vector<std::string> names(int n) {
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back("trunk-" + std::to_string(i));
  return out;
}

// The shards of `count` that own `name`.
std::vector<std::uint32_t> owners(const std::string& name, std::uint32_t count,
                                  std::uint32_t replicas) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t s = 0; s < count; ++s) {
    if (owns(name, Shard{s, count, replicas})) out.push_back(s);
  }
  return out;
}

void expect_owned_by_exactly(std::uint32_t count, std::uint32_t replicas) {
  std::vector<int> share(count);
  for (const std::string& n : names(300)) {
    const auto o = owners(n, count, replicas);
    EXPECT_EQ(o.size(), replicas) << n;
    for (const std::uint32_t s : o) ++share[s];
  }
  const double even = 300.0 / count * replicas;
  for (std::uint32_t s = 0; s < count; ++s) {
    EXPECT_GE(share[s], even * 0.8) << "shard " << s;
    EXPECT_LE(share[s], even * 1.2) << "shard " << s;
  }
}

TEST(Sharding, EachTargetHasOneOwnerAndSharesAreEven) { expect_owned_by_exactly(3, 1); }

TEST(Sharding, ReplicasTwoGivesEachTargetTwoOwners) { expect_owned_by_exactly(3, 2); }

TEST(Sharding, ReplicasAtLeastCountOwnsEverything) {
  for (const std::string& n : names(20)) EXPECT_EQ(owners(n, 3, 3).size(), 3u) << n;
  EXPECT_TRUE(owns("anything", Shard{}));
}

// Rendezvous hashing: a target moves only when the new shard outweighs its old owner, which
// happens for ~1/N of them (here 1/4); a modulo partition would move ~3/4.
TEST(Sharding, GrowingFromThreeToFourShardsMovesAboutAQuarter) {
  int moved = 0;
  for (const std::string& n : names(300)) {
    const auto before = owners(n, 3, 1);
    const auto after = owners(n, 4, 1);
    ASSERT_EQ(after.size(), 1u);
    if (before != after) {
      ++moved;
      EXPECT_EQ(after.front(), 3u) << n << " moved between old shards";
    }
  }
  EXPECT_GE(moved, 300 * 15 / 100);
  EXPECT_LE(moved, 300 * 35 / 100);
}

// FNV-1a 64 then fmix64, as shard_weight documents: if these change, replicas of different
// versions would disagree on who probes what during a rolling upgrade.
TEST(Sharding, HashIsPinned) {
  EXPECT_EQ(shard_weight("carrier-a", 0), 0x056250a13f26ed36ULL);
  EXPECT_EQ(owners("carrier-a", 3, 1), std::vector<std::uint32_t>{1});
  EXPECT_EQ(owners("carrier-b", 3, 1), std::vector<std::uint32_t>{0});
  EXPECT_EQ(owners("carrier-c", 3, 1), std::vector<std::uint32_t>{2});
  EXPECT_EQ(owners("carrier-c", 3, 2), (std::vector<std::uint32_t>{1, 2}));
}

TEST(Sharding, KeepOwnedFiltersInOrder) {
  std::vector<TargetConfig> targets;
  for (const char* n : {"carrier-a", "carrier-b", "carrier-c", "trunk-3"}) {
    targets.emplace_back().name = n;
  }
  keep_owned(targets, Shard{2, 3, 1});
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].name, "carrier-c");
  EXPECT_EQ(targets[1].name, "trunk-3");
}

}  // namespace
}  // namespace stx
