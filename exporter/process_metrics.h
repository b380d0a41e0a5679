#pragma once
// The process_* families as client_golang's process collector writes them (prometheus-cpp
// has none), read from /proc at scrape time. Parsing is separate from reading so that tests
// can feed it fixed text.
#include <optional>
#include <string>
#include <string_view>

namespace stx {

// Each value is absent when its /proc file could not be read or parsed: the series is
// left out, as client_golang does.
struct ProcessStats {
  std::optional<double> cpu_seconds;
  std::optional<double> resident_bytes;
  std::optional<double> virtual_bytes;
  std::optional<double> open_fds;
  std::optional<double> max_fds;
  std::optional<double> start_time_seconds;
};

// Fields of /proc/<pid>/stat; CPU time converted to seconds with the clock tick rate.
struct ProcStat {
  double cpu_seconds = 0;     // utime + stime
  double start_ticks = 0;     // starttime: clock ticks after boot
  double virtual_bytes = 0;   // vsize
  double resident_pages = 0;  // rss
};

std::optional<ProcStat> parse_proc_stat(std::string_view text, double ticks_per_second);
// `btime` of /proc/stat: boot time in Unix seconds.
std::optional<double> parse_boot_time(std::string_view proc_stat);
// The soft limit of "Max open files" in /proc/<pid>/limits ("unlimited" reads as +Inf).
std::optional<double> parse_max_fds(std::string_view limits);

// This process, now.
ProcessStats read_process_stats();

// Appends the families of the table whose values are present.
void write_process_metrics(const ProcessStats& s, std::string& out);
// The same as protobuf MetricFamily messages (exposition_protobuf.h).
void write_process_metrics_protobuf(const ProcessStats& s, std::string& out);

}  // namespace stx
