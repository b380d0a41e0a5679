#include "exporter/process_metrics.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>
#include <vector>

#include "exporter/exposition.h"
#include "exporter/exposition_protobuf.h"
#include "exporter/metric_families.h"

namespace stx {
namespace {

std::optional<std::string> slurp(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<double> number(const std::string& word) {
  char* end = nullptr;
  const double v = std::strtod(word.c_str(), &end);
  if (word.empty() || end != word.c_str() + word.size()) return std::nullopt;
  return v;
}

// Entries of /proc/self/fd, the descriptor reading it included (client_golang counts it too).
std::optional<double> count_open_fds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  if (ec) return std::nullopt;
  return n;
}

template <class W = FamilyWriter>
void write_one(std::string& out, FamilyId id, const std::optional<double>& v) {
  if (!v) return;
  W w(out, id);
  w.sample({}, *v);
  w.flush();
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text, double ticks_per_second) {
  // The command name (field 2) is in parentheses and may hold spaces and parentheses.
  const auto close = text.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::istringstream in{std::string(text.substr(close + 1))};
  std::vector<std::string> fields;  // fields[0] is field 3 (state)
  for (std::string f; in >> f;) fields.push_back(f);
  constexpr std::size_t kUtime = 11, kStime = 12, kStart = 19, kVsize = 20, kRss = 21;
  if (fields.size() <= kRss) return std::nullopt;
  const auto utime = number(fields[kUtime]), stime = number(fields[kStime]);
  const auto start = number(fields[kStart]), vsize = number(fields[kVsize]);
  const auto rss = number(fields[kRss]);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  return ProcStat{(*utime + *stime) / ticks_per_second, *start, *vsize, *rss};
}

std::optional<double> parse_boot_time(std::string_view proc_stat) {
  std::istringstream in{std::string(proc_stat)};
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("btime ", 0) == 0) return number(line.substr(6));
  }
  return std::nullopt;
}

std::optional<double> parse_max_fds(std::string_view limits) {
  std::istringstream in{std::string(limits)};
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream words(line.substr(14));
    std::string soft;
    words >> soft;
    if (soft == "unlimited") return std::numeric_limits<double>::infinity();
    return number(soft);
  }
  return std::nullopt;
}

ProcessStats read_process_stats() {
  ProcessStats s;
  const auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const auto stat_text = slurp("/proc/self/stat");
  const auto stat = stat_text ? parse_proc_stat(*stat_text, ticks) : std::nullopt;
  if (stat) {
    s.cpu_seconds = stat->cpu_seconds;
    s.virtual_bytes = stat->virtual_bytes;
    s.resident_bytes = stat->resident_pages * page;
    const auto boot_text = slurp("/proc/stat");
    const auto boot = boot_text ? parse_boot_time(*boot_text) : std::nullopt;
    if (boot) s.start_time_seconds = *boot + stat->start_ticks / ticks;
  }
  s.open_fds = count_open_fds();
  const auto limits = slurp("/proc/self/limits");
  if (limits) s.max_fds = parse_max_fds(*limits);
  return s;
}

void write_process_metrics(const ProcessStats& s, std::string& out) {
  write_one(out, FamilyId::process_cpu, s.cpu_seconds);
  write_one(out, FamilyId::process_resident, s.resident_bytes);
  write_one(out, FamilyId::process_virtual, s.virtual_bytes);
  write_one(out, FamilyId::process_open_fds, s.open_fds);
  write_one(out, FamilyId::process_max_fds, s.max_fds);
  write_one(out, FamilyId::process_start_time, s.start_time_seconds);
}

void write_process_metrics_protobuf(const ProcessStats& s, std::string& out) {
  write_one<ProtoFamilyWriter>(out, FamilyId::process_cpu, s.cpu_seconds);
  write_one<ProtoFamilyWriter>(out, FamilyId::process_resident, s.resident_bytes);
  write_one<ProtoFamilyWriter>(out, FamilyId::process_virtual, s.virtual_bytes);
  write_one<ProtoFamilyWriter>(out, FamilyId::process_open_fds, s.open_fds);
  write_one<ProtoFamilyWriter>(out, FamilyId::process_max_fds, s.max_fds);
  write_one<ProtoFamilyWriter>(out, FamilyId::process_start_time, s.start_time_seconds);
}

}  // namespace stx
