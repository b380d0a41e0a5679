// The receive buffer stays sparse: only the pages written are resident, and the kernel is
// told never to back it with huge pages (which would make all of it resident at once).
#include "probes/page_buffer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace stx {
namespace {

struct Mapping {
  bool found = false;
  long rss_kib = -1;
  std::string vm_flags;
};

// The /proc/self/smaps entry of the mapping that holds `p`.
Mapping mapping_of(const void* p) {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  Mapping m;
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    std::uintptr_t lo = 0;
    std::uintptr_t hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      if (m.found) break;  // past ours
      inside = lo <= at && at < hi;
      m.found = inside;
      continue;
    }
    if (!inside) continue;
    if (line.rfind("Rss:", 0) == 0) m.rss_kib = std::stol(line.substr(4));
    if (line.rfind("VmFlags:", 0) == 0) m.vm_flags = line.substr(8) + " ";
  }
  return m;
}

TEST(PageBuffer, OnlyTheTouchedPagesAreResidentAndNoneIsHuge) {
  constexpr std::size_t kSlot = 64 * 1024;
  PageBuffer buf(32 * kSlot);
  ASSERT_EQ(buf.size(), 32 * kSlot);
  for (std::size_t i = 0; i < 32; ++i) buf.data()[i * kSlot] = 'x';  // an answer per slot
  const Mapping m = mapping_of(buf.data());
  ASSERT_TRUE(m.found);
  EXPECT_NE(m.vm_flags.find(" nh "), std::string::npos) << "VmFlags:" << m.vm_flags;
  EXPECT_LE(m.rss_kib, 32 * 4) << "a page per slot written, no more";
  EXPECT_EQ(buf.data()[kSlot + 1], 0);
}

}  // namespace
}  // namespace stx
