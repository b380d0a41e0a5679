#include "exporter/reporter.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "exporter/log.h"
#include "exporter/metrics.h"
#include "exporter/status_board.h"
#include "tests/unit/exporter/two_targets.h"

namespace stx {
namespace {

// A reload that keeps a target hands the sink the new configuration's copy. The metrics
// and the status board hold the target's configuration through a pointer that owns the
// whole list: unless they take the new one, every reload that keeps a target keeps its
// whole old configuration in memory.
TEST(Reporter, AKeptTargetLetsTheOldConfigurationGo) {
  const Config config = test::two_targets_config();
  Metrics metrics{config};
  StatusBoard board;
  Logger log;
  Reporter reporter{metrics, board, log};

  auto first = std::make_shared<const std::vector<TargetConfig>>(config.targets);
  reporter.target_added(0, std::shared_ptr<const TargetConfig>(first, &first->at(0)));
  const std::weak_ptr<const std::vector<TargetConfig>> old = first;
  first.reset();
  ASSERT_FALSE(old.expired()) << "the metrics and the board hold the target's list";

  const auto second = std::make_shared<const std::vector<TargetConfig>>(config.targets);
  reporter.target_kept(0, std::shared_ptr<const TargetConfig>(second, &second->at(0)));
  EXPECT_TRUE(old.expired()) << "something still holds the old configuration";

  // The target reads the same from the new copy.
  EXPECT_NE(metrics.serialize().find(
                "sip_target_info{carrier=\"acme\",server=\"\",target=\"a\",transport=\"udp\","
                "uri=\"sip:192.0.2.1:5060\"} 1"),
            std::string::npos);
  EXPECT_EQ(board.name_of(0), "a");
  ASSERT_EQ(board.snapshot(0).targets.size(), 1u);
  EXPECT_EQ(board.snapshot(0).targets[0].uri, "sip:192.0.2.1:5060");
}

}  // namespace
}  // namespace stx
