// The harness turns a sanitizer report in a child's stderr into a test failure: in the asan and
// tsan builds the exporter the tests start is sanitized too, and it may report and exit while the
// test itself would pass.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

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

// A process exists and is not a zombie (an orphan's zombie may wait for a reaper that is slow).
bool alive(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

// A sanitizer ends a test process with _exit, without ~Process: the peer's own forked
// children (Kamailio's workers) must not outlive it.
TEST(ProcessTest, PeersChildrenDieWithATestProcessThatSkipsItsDestructors) {
  TempDir dir;
  const std::filesystem::path grandchild_file = dir.path() / "grandchild.pid";
  const pid_t test_process = ::fork();
  ASSERT_GE(test_process, 0);
  if (test_process == 0) {
    try {
      Process peer("forking-peer",
                   {"sh", "-c", "sleep 60 & echo $! > " + grandchild_file.string() + "; wait"},
                   dir.path());
      wait_until(10s, [&] { return !read_file(grandchild_file).empty(); });
      ::_exit(1);  // as a sanitizer's exit: ~Process does not run
    } catch (...) {
    }
    ::_exit(2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(test_process, &status, 0), test_process);
  const std::string text = read_file(grandchild_file);
  ASSERT_FALSE(text.empty()) << "the peer did not start its child";
  const pid_t grandchild = std::stoi(text);
  const bool gone = wait_until(10s, [&] { return !alive(grandchild); });
  if (!gone) ::kill(grandchild, SIGKILL);
  EXPECT_TRUE(gone) << "the peer's child " << grandchild << " outlived the test process";
}

}  // namespace
}  // namespace stx::it
