// process_* against /proc read independently here, and the parsers on fixed text.
#include "exporter/process_metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace stx {
namespace {

std::string read(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value of the one sample `name` in an exposition body.
std::optional<double> sample(const std::string& body, const std::string& name) {
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nullopt;
}

constexpr char kStat[] =
    "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 3 0 123400 "
    "1048576000 2048 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";

TEST(ProcessMetrics, ParsesStatWithSpacesAndParenthesesInTheName) {
  const auto s = parse_proc_stat(kStat, 100);
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 3.0);  // (250 + 50) ticks at 100 Hz
  EXPECT_DOUBLE_EQ(s->start_ticks, 123400);
  EXPECT_DOUBLE_EQ(s->virtual_bytes, 1048576000);
  EXPECT_DOUBLE_EQ(s->resident_pages, 2048);
}

TEST(ProcessMetrics, RejectsTruncatedStat) {
  EXPECT_FALSE(parse_proc_stat("4242 (x) S 1 2 3", 100));
  EXPECT_FALSE(parse_proc_stat("no parentheses", 100));
}

TEST(ProcessMetrics, ParsesBootTimeAndOpenFilesLimit) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 1700000000);
  EXPECT_FALSE(parse_boot_time("cpu  1 2 3\n"));
  const char* limits =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max processes             63556                63556                processes \n"
      "Max open files            1024                 524288               files     \n";
  EXPECT_EQ(parse_max_fds(limits), 1024);
  EXPECT_EQ(parse_max_fds("Max open files            unlimited            unlimited   files\n"),
            std::numeric_limits<double>::infinity());
}

TEST(ProcessMetrics, WritesEveryFamilyWithClientGolangsHelp) {
  ProcessStats s;
  s.cpu_seconds = 1.5;
  s.max_fds = 1024;
  std::string out;
  write_process_metrics(s, out);
  EXPECT_EQ(out,
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
            "# TYPE process_cpu_seconds_total counter\n"
            "process_cpu_seconds_total 1.5\n"
            "# HELP process_max_fds Maximum number of open file descriptors.\n"
            "# TYPE process_max_fds gauge\n"
            "process_max_fds 1024\n");
}

// This test process's values as the writer serves them, against /proc and the kernel's
// answers read here; CPU time and memory move between the two reads, hence the tolerances.
TEST(ProcessMetrics, MatchesProcForThisProcess) {
  const auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::string out;
  write_process_metrics(read_process_stats(), out);
  const auto stat = parse_proc_stat(read("/proc/self/stat"), ticks);
  ASSERT_TRUE(stat);

  rusage usage{};
  ASSERT_EQ(getrusage(RUSAGE_SELF, &usage), 0);
  const double rusage_cpu =
      static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
      static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  EXPECT_NEAR(*sample(out, "process_cpu_seconds_total"), rusage_cpu, 2 / ticks + 0.05);

  EXPECT_NEAR(*sample(out, "process_resident_memory_bytes"), stat->resident_pages * page, 4 << 20);
  EXPECT_GT(*sample(out, "process_resident_memory_bytes"), 0);
  EXPECT_NEAR(*sample(out, "process_virtual_memory_bytes"), stat->virtual_bytes, 64 << 20);

  rlimit nofile{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &nofile), 0);
  EXPECT_EQ(*sample(out, "process_max_fds"), static_cast<double>(nofile.rlim_cur));

  // The process started after boot and before this test, and within its CPU time's reach.
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = *sample(out, "process_start_time_seconds");
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, *parse_boot_time(read("/proc/stat")));
  EXPECT_EQ(start, *parse_boot_time(read("/proc/stat")) + stat->start_ticks / ticks);
}

// Opening descriptors shows in process_open_fds one for one.
TEST(ProcessMetrics, OpenFdsCountsDescriptors) {
  const auto open_fds = [] {
    std::string out;
    write_process_metrics(read_process_stats(), out);
    return *sample(out, "process_open_fds");
  };
  const double before = open_fds();
  double listed = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++listed;
  }
  EXPECT_EQ(before, listed);
  int fds[3];
  for (int& fd : fds) fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const double after = open_fds();
  for (const int fd : fds) close(fd);
  EXPECT_EQ(after, before + 3);
}

}  // namespace
}  // namespace stx
