// The metric-name extraction that the exposed-metrics checks rely on.
#include "promql_names.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stx::alerting {
namespace {

using Names = std::set<std::string>;

TEST(PromqlNamesTest, FindsSelectorsAndRecordingRules) {
  EXPECT_EQ(metric_names(R"(sip_target_up{job="x"} == 0)"), Names{"sip_target_up"});
  EXPECT_EQ(metric_names("1 - target:sip_probe_success:ratio_rate1h > (14.4 * (1 - 0.995))"),
            Names{"target:sip_probe_success:ratio_rate1h"});
  EXPECT_EQ(metric_names("up"), Names{"up"});
}

TEST(PromqlNamesTest, SkipsFunctionsAggregationsKeywordsAndLabelLists) {
  EXPECT_EQ(metric_names("histogram_quantile(0.95, sum by (target, le) (rate(sip_probe_rtt_seconds_bucket[5m])))"),
            Names{"sip_probe_rtt_seconds_bucket"});
  EXPECT_EQ(metric_names("sum without (code) (rate(a_total[10m])) / on (target) group_left (carrier) b and c unless "
                         "d or e == bool 1 offset 5m"),
            (Names{"a_total", "b", "c", "d", "e"}));
  EXPECT_EQ(metric_names("count(x == 1) or vector(0)"), Names{"x"});
  EXPECT_EQ(metric_names("topk(10, max(y)) - time()"), Names{"y"});
}

TEST(PromqlNamesTest, SkipsMatchersStringsNumbersAndGrafanaVariables) {
  EXPECT_EQ(metric_names(R"(rate(m{target=~"$target",code!="5xx",x="a}b"}[$__rate_interval]) * 1e3 > 0x10)"),
            Names{"m"});
  EXPECT_EQ(metric_names("n{uid='${datasource}'} + $__range_s + ${var:raw}"), Names{"n"});
}

TEST(PromqlNamesTest, RejectsUnbalancedExpressions) {
  EXPECT_THROW(metric_names("sum(rate(m{a=\"b\"[5m]))"), std::invalid_argument);
}

TEST(PromqlNamesTest, ReadsGrafanaLabelValuesQueries) {
  EXPECT_EQ(label_values_metric_names(R"(label_values(sip_target_up{job="j",carrier=~"$carrier"}, site))"),
            Names{"sip_target_up"});
  EXPECT_EQ(label_values_metric_names("label_values(site)"), Names{});
  EXPECT_THROW(label_values_metric_names("query_result(up)"), std::invalid_argument);
}

}  // namespace
}  // namespace stx::alerting
