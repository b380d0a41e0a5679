// Sharding: three exporters on one configuration file split its targets (--shard.*), each
// target in exactly --shard.replicas of them, where config/sharding.h says; a reload that
// adds targets splits the new ones too.
#include <gtest/gtest.h>

#include <array>
#include <csignal>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/sharding.h"
#include "harness.h"

namespace stx::it {
namespace {

constexpr std::uint32_t kShards = 3;

// `count` targets from `first` on, all at one closed UDP port: probes fail at once, and with
// a 60 s interval few are sent; only which targets each replica has matters here.
std::vector<TargetSpec> targets(int first, int count, const std::string& uri) {
  std::vector<TargetSpec> out;
  for (int i = first; i < first + count; ++i)
    out.push_back({"trunk-" + std::to_string(i), uri, {}, {}});
  return out;
}

std::set<std::string> target_names(const Exposition& e) {
  std::set<std::string> names;
  for (const Sample& s : e.find("sip_target_up")) names.insert(s.labels.at("target"));
  return names;
}

class ShardingTest : public ::testing::Test {
 protected:
  ShardingTest() {
    spec_.interval = "60s";
    spec_.targets = targets(0, 300, "sip:127.0.0.1:" + std::to_string(free_udp_port()));
    write_file(shared_, render_config(spec_));
  }

  // The replicas, each started on the shared file and ready (probing has started).
  void start(std::uint32_t replicas) {
    for (std::uint32_t i = 0; i < kShards; ++i) {
      ExporterConfigSpec own = spec_;
      own.extra_flags = {
          "--config.file=" + shared_.string(), "--shard.count=" + std::to_string(kShards),
          "--shard.index=" + std::to_string(i), "--shard.replicas=" + std::to_string(replicas)};
      exporters_[i] =
          std::make_unique<Exporter>(tmp_.path(), own, "info", "shard" + std::to_string(i));
      ASSERT_TRUE(wait_until(5s, [&] { return exporters_[i]->get("/-/ready").status == 200; }));
    }
  }

  // Every configured target is served by exactly the replicas that own it.
  void expect_partitioned(std::uint32_t replicas, const std::string& names_file) {
    std::map<std::string, int> seen;
    for (std::uint32_t i = 0; i < kShards; ++i) {
      const Exposition e = exporters_[i]->scrape();
      EXPECT_EQ(e.value("sip_exporter_shard_info", {{"index", std::to_string(i)},
                                                    {"count", std::to_string(kShards)},
                                                    {"replicas", std::to_string(replicas)}}),
                1.0)
          << e.grep("shard_info");
      const std::set<std::string> mine = target_names(e);
      EXPECT_FALSE(mine.empty()) << "shard " << i;
      for (const std::string& name : mine) {
        ++seen[name];
        EXPECT_TRUE(owns(name, Shard{i, kShards, replicas})) << name << " on shard " << i;
      }
    }
    for (const TargetSpec& t : spec_.targets) {
      EXPECT_EQ(seen[t.name], static_cast<int>(replicas)) << t.name << " (" << names_file << ")";
    }
    EXPECT_EQ(seen.size(), spec_.targets.size());
  }

  TempDir tmp_;
  std::filesystem::path shared_ = tmp_ / "shared.toml";
  ExporterConfigSpec spec_;
  std::array<std::unique_ptr<Exporter>, kShards> exporters_;
};

TEST_F(ShardingTest, EachTargetOnExactlyOneReplicaAndReloadSplitsNewOnes) {
  start(1);
  expect_partitioned(1, "300 targets");
  EXPECT_NE(exporters_[0]->process().stderr_text().find("of 300 targets"), std::string::npos);

  spec_.targets = targets(0, 360, spec_.targets.front().uri);
  write_file(shared_, render_config(spec_));
  for (auto& e : exporters_) e->process().signal(SIGHUP);
  std::size_t total = 0;
  const bool reloaded = wait_until(10s, [&] {
    total = 0;
    for (auto& e : exporters_) total += target_names(e->scrape()).size();
    return total == 360;
  });
  ASSERT_TRUE(reloaded) << total << " targets served after the reload";
  expect_partitioned(1, "360 targets after SIGHUP");
  EXPECT_NE(exporters_[0]->process().stderr_text().find("of 360 targets"), std::string::npos);
}

TEST_F(ShardingTest, ReplicasTwoPutsEachTargetOnTwoReplicas) {
  start(2);
  expect_partitioned(2, "300 targets");
}

}  // namespace
}  // namespace stx::it
