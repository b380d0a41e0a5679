// The harness turns a sanitizer report in a child's stderr into a test failure: in the asan and
// tsan builds the exporter the tests start is sanitized too, and it may report and exit while the
// test itself would pass.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "harness.h"

namespace stx::it {
namespace {

TEST(SanitizerReportTest, FindsEachSanitizersReportFromItsFirstLine) {
  const std::string asan =
      "level=info msg=\"listening\"\n"
      "=================================================================\n"
      "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010\n"
      "    #0 0x55 in stx::Engine::on_timer probes/engine.cc:120\n";
  auto report = sanitizer_report(asan);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->rfind("==4242==ERROR: AddressSanitizer: heap-use-after-free", 0), 0u)
      << *report;
  EXPECT_NE(report->find("probes/engine.cc:120"), std::string::npos) << *report;

  EXPECT_TRUE(sanitizer_report("==1==ERROR: LeakSanitizer: detected memory leaks\n"));
  EXPECT_TRUE(sanitizer_report("WARNING: ThreadSanitizer: data race (pid=7)\n"));
  EXPECT_TRUE(sanitizer_report("FATAL: ThreadSanitizer: unexpected memory mapping\n"));
  EXPECT_TRUE(sanitizer_report(
      "sip/sip_uri.cc:40:12: runtime error: signed integer overflow: 2147483647 + 1\n"));
}

TEST(SanitizerReportTest, OrdinaryLogsAreNoReport) {
  EXPECT_FALSE(sanitizer_report(""));
  EXPECT_FALSE(
      sanitizer_report("level=error msg=\"probe failed\" target=a err=\"runtime error\"\n"
                       "level=warn msg=\"address sanitizer\"\n"));
}

TEST(SanitizerReportTest, ReportIsCutToTheGivenLineCount) {
  std::string text = "==1==ERROR: AddressSanitizer: stack-buffer-overflow\n";
  for (int i = 0; i < 100; ++i) text += "    #" + std::to_string(i) + " frame\n";
  auto report = sanitizer_report(text, 5);
  ASSERT_TRUE(report);
  EXPECT_EQ(split_lines(*report).size(), 5u) << *report;
}

TEST(SanitizerReportTest, ChildThatReportsFailsTheTestWhenItsProcessIsDestroyed) {
  TempDir dir;
  auto child_reports = [&] {
    Process p("reporting-child",
              {"sh", "-c",
               "echo '==9==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1' >&2; "
               "exit 1"},
              dir.path());
    ASSERT_TRUE(p.wait_exit(10s));
  };
  EXPECT_NONFATAL_FAILURE(child_reports(), "heap-buffer-overflow on address 0x1");

  Process quiet("quiet-child", {"sh", "-c", "echo 'level=info msg=ok' >&2"}, dir.path());
  ASSERT_TRUE(quiet.wait_exit(10s));
  EXPECT_FALSE(sanitizer_report(quiet.stderr_text()));
}

}  // namespace
}  // namespace stx::it
