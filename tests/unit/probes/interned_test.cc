#include "probes/interned.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace stx {
namespace {

std::shared_ptr<const std::string> get(Interned<std::string>& table, const std::string& key,
                                       int* made = nullptr) {
  return table.get(key, [&] {
    if (made != nullptr) ++*made;
    return std::make_shared<const std::string>(key);
  });
}

TEST(Interned, EqualKeysShareOneValue) {
  Interned<std::string> table;
  int made = 0;
  const auto a = get(table, "Kamailio (5.6.3)", &made);
  const auto b = get(table, "Kamailio (5.6.3)", &made);
  const auto c = get(table, "Asterisk PBX 20", &made);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(*c, "Asterisk PBX 20");
  EXPECT_EQ(made, 2);
  EXPECT_EQ(table.size(), 2u);
}

TEST(Interned, ValuesNothingHoldsAreDroppedAsTheTableGrows) {
  Interned<std::string> table;
  const auto kept = get(table, "kept");
  for (int i = 0; i < 100; ++i) get(table, "gone " + std::to_string(i));  // dropped at once
  // Sweeps run whenever the table doubles: it stays within twice what is held.
  EXPECT_LE(table.size(), 16u);
  int made = 0;
  EXPECT_EQ(get(table, "kept", &made).get(), kept.get());
  EXPECT_EQ(made, 0);
}

TEST(Interned, ValuesStillHeldSurviveASweep) {
  Interned<std::string> table;
  std::vector<std::shared_ptr<const std::string>> held;
  held.reserve(40);
  for (int i = 0; i < 40; ++i) held.push_back(get(table, "held " + std::to_string(i)));
  EXPECT_EQ(table.size(), 40u);
  int made = 0;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(get(table, "held " + std::to_string(i), &made).get(), held[i].get());
  }
  EXPECT_EQ(made, 0);
}

}  // namespace
}  // namespace stx
