// The shipped health policy as a whole (issue 16): a silent trunk is emailed in a
// median of at most 60 s and at worst 75 s, 30% request loss on 1,000 targets gives
// no false down in 10 minutes, and a healthy peer gets at most one OPTIONS per 10 s;
// both configuration files ship the same policy and README's arithmetic is theirs.
// tests/alerting/shipped_settings_email_test.cc runs it for real.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "alerting_files.h"
#include "harness.h"
#include "shipped_settings.h"

namespace stx::alerting {
namespace {

using ::testing::HasSubstr;

class ShippedSettingsTest : public ::testing::Test {
 protected:
  it::TempDir dir_{"stx-shipped"};
};

TEST(DurationSecondsTest, ReadsTheExportersUnits) {
  EXPECT_DOUBLE_EQ(duration_seconds("\"15s\""), 15);
  EXPECT_DOUBLE_EQ(duration_seconds("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(duration_seconds("1m30s"), 90);
  EXPECT_DOUBLE_EQ(duration_seconds("0s"), 0);
  EXPECT_THROW(duration_seconds("15"), std::runtime_error);
}

TEST_F(ShippedSettingsTest, ExampleAndDeployConfigShipTheSameHealthPolicy) {
  auto deploy = toml_table_values(deploy_config(), "defaults");
  auto example = toml_table_values(example_config(), "defaults");
  for (const char* key : {"interval", "interval_jitter", "fast_interval", "down_interval", "timeout",
                          "failures_before_down", "successes_before_up", "degraded_codes"}) {
    ASSERT_EQ(deploy.count(key), 1u) << "deploy/config.toml [defaults] sets no " << key;
    ASSERT_EQ(example.count(key), 1u) << "config/example.toml [defaults] sets no " << key;
    EXPECT_EQ(deploy[key], example[key]) << key;
  }
}

TEST_F(ShippedSettingsTest, SilentTrunkIsEmailedWithinAMinuteAndAQuarter) {
  const auto s = load_shipped_settings(dir_.path());
  // A healthy peer: one OPTIONS per 10 s at most (carriers ban faster probing).
  EXPECT_GE(s.interval, 10);
  // The re-checks run back to back: fast_interval (+ jitter) does not exceed the timeout.
  EXPECT_LE(s.fast_interval + s.jitter, s.timeout);
  EXPECT_LT(s.timeout, s.interval);
  EXPECT_LE(s.worst_silence_to_email(), 75) << "worst case";
  EXPECT_LE(s.expected_silence_to_email(), 60) << "expected (and median: the terms are symmetric)";
  std::printf("[shipped] detection %.2f s, silence -> email expected %.2f s, worst %.2f s\n", s.detection(),
              s.expected_silence_to_email(), s.worst_silence_to_email());
}

TEST_F(ShippedSettingsTest, ThirtyPercentRequestLossGivesNoFalseDownOn1000TargetsIn10Minutes) {
  const auto s = load_shipped_settings(dir_.path());
  EXPECT_EQ(s.transmissions(), 4) << "transmissions at 0, 0.5, 1.5 and 3.5 s inside the timeout";
  const double p = std::pow(0.3, s.transmissions());   // a probe fails
  const double false_down = std::pow(p, s.failures_before_down);  // and its re-checks
  const double probes = 1000 * 600 / (s.interval + s.jitter / 2);
  const double expected = probes * false_down;
  std::printf("[shipped] P(probe fails) %.4g, P(false down) %.3g per probe, %.0f probes: %.3g expected\n", p,
              false_down, probes, expected);
  EXPECT_LT(expected, 0.05);
}

// README's "From silence to email" states the figures these settings give.
TEST_F(ShippedSettingsTest, ReadmeShowsTheirArithmetic) {
  const auto s = load_shipped_settings(dir_.path());
  const std::string readme = it::read_file(repo_root() / "README.md");
  const auto section = readme.find("### From silence to email");
  ASSERT_NE(section, std::string::npos);
  const std::string text = readme.substr(section, readme.find("\n## ", section) - section);
  char buf[64];
  std::snprintf(buf, sizeof buf, "**%.2f s**", s.expected_silence_to_email());
  EXPECT_THAT(text, HasSubstr(buf));
  std::snprintf(buf, sizeof buf, "**%.0f s**", s.worst_silence_to_email());
  EXPECT_THAT(text, HasSubstr(buf));
  for (const std::string& v : {s.scrape_interval_text, s.group_wait_text}) EXPECT_THAT(text, HasSubstr(v));
}

}  // namespace
}  // namespace stx::alerting
