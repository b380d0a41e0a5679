#include "probes/slots.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stx {
namespace {

// Counts its live instances, and holds a string so that a missed destructor leaks.
struct Record {
  static inline int live = 0;
  explicit Record(std::string n) : name(std::move(n)) { ++live; }
  Record(const Record&) = delete;
  Record& operator=(const Record&) = delete;
  ~Record() { --live; }
  std::string name;
};

TEST(SlotTable, HoldsRecordsBySlotAndNothingElsewhere) {
  Record::live = 0;
  {
    SlotTable<Record> t;
    EXPECT_EQ(t.size(), 0U);
    EXPECT_EQ(t[0], nullptr);
    t.emplace(3, "three");
    EXPECT_EQ(t.size(), 4U);
    for (std::size_t s : {0, 1, 2, 4, 1000}) EXPECT_EQ(t[s], nullptr) << s;
    ASSERT_NE(t[3], nullptr);
    EXPECT_EQ(t[3]->name, "three");
    t.erase(3);
    EXPECT_EQ(t[3], nullptr);
    EXPECT_EQ(t.size(), 4U);  // slots stay: they are names
    EXPECT_EQ(Record::live, 0);
    t.emplace(3, "again");
    EXPECT_EQ(t[3]->name, "again");
  }
  EXPECT_EQ(Record::live, 0);  // the table's destructor destroyed what was left
}

TEST(SlotTable, RecordsStayPutAsTheTableGrowsAndOthersGo) {
  Record::live = 0;
  SlotTable<Record> t;
  Record& first = t.emplace(0, "first");
  Record& last_of_chunk = t.emplace(SlotTable<Record>::kChunk - 1, "edge");
  for (std::size_t s = 1; s < 10 * SlotTable<Record>::kChunk; ++s) {
    if (t[s] == nullptr) t.emplace(s, std::to_string(s));
  }
  EXPECT_EQ(Record::live, static_cast<int>(10 * SlotTable<Record>::kChunk));
  EXPECT_EQ(t[0], &first);
  EXPECT_EQ(t[SlotTable<Record>::kChunk - 1], &last_of_chunk);
  EXPECT_EQ(last_of_chunk.name, "edge");
  // Emptying a whole chunk frees it; its neighbours and their addresses are untouched.
  const Record* after = t[2 * SlotTable<Record>::kChunk];
  for (std::size_t s = SlotTable<Record>::kChunk; s < 2 * SlotTable<Record>::kChunk; ++s) {
    t.erase(s);
  }
  EXPECT_EQ(t[2 * SlotTable<Record>::kChunk], after);
  EXPECT_EQ(after->name, std::to_string(2 * SlotTable<Record>::kChunk));
  EXPECT_EQ(t[0], &first);
  EXPECT_EQ(t[SlotTable<Record>::kChunk], nullptr);
  t.emplace(SlotTable<Record>::kChunk + 5, "back");
  EXPECT_EQ(t[SlotTable<Record>::kChunk + 5]->name, "back");
  EXPECT_EQ(t[SlotTable<Record>::kChunk + 4], nullptr);
  t.clear();
  EXPECT_EQ(Record::live, 0);
  for (std::size_t s = 0; s < t.size(); ++s) EXPECT_EQ(t[s], nullptr) << s;
}

TEST(SlotTable, TakeSlotReusesFreedSlotsFirst) {
  SlotTable<Record> t;
  std::vector<std::uint32_t> free;
  EXPECT_EQ(take_slot(t, free), 0U);
  t.emplace(0, "a");
  EXPECT_EQ(take_slot(t, free), 1U);
  t.emplace(1, "b");
  EXPECT_EQ(t.size(), 2U);
  t.erase(0);
  free.push_back(0);
  EXPECT_EQ(take_slot(t, free), 0U);
  EXPECT_TRUE(free.empty());
  EXPECT_EQ(take_slot(t, free), 2U);
  EXPECT_EQ(t[2], nullptr);  // taken, not yet made
}

}  // namespace
}  // namespace stx
