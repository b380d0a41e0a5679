// README.md's configuration reference lists exactly the keys of the key table, so that a new
// key cannot ship undocumented and a removed one cannot linger in the docs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/config_keys.h"

namespace stx {
namespace {

// The lines of the "## Configuration" section, its ### subsections included.
std::vector<std::string> configuration_section(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::vector<std::string> lines;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("## ")) inside = line == "## Configuration";
    if (inside) lines.push_back(line);
  }
  return lines;
}

// Key name -> how many rows name it, from every table whose first column is "key". A row's
// first cell names one key or several: "`dns_min_ttl` / `dns_max_ttl`".
std::map<std::string, int> documented_keys(const std::vector<std::string>& lines) {
  static const std::regex header(R"(^\|\s*key\s*\|)");
  static const std::regex name(R"(`([A-Za-z0-9_]+)`)");
  std::map<std::string, int> keys;
  bool in_key_table = false;
  for (const std::string& line : lines) {
    if (!line.starts_with("|")) {
      in_key_table = false;
      continue;
    }
    if (std::regex_search(line, header)) {
      in_key_table = true;
      continue;
    }
    if (!in_key_table || line.starts_with("|---") || line.starts_with("| ---")) continue;
    const std::string first_cell = line.substr(1, line.find('|', 1) - 1);
    for (std::sregex_iterator it(first_cell.begin(), first_cell.end(), name), end; it != end;
         ++it) {
      ++keys[(*it)[1]];
    }
  }
  return keys;
}

TEST(ReadmeConfigTable, ParsesTheTableFormat) {
  const std::vector<std::string> lines = {
      "## Configuration",
      "| key | where | default | meaning |",
      "|---|---|---|---|",
      "| `a` / `b` | `[exporter]` | `10s` | uses `c` |",
      "",
      "| name | meaning |",
      "|---|---|",
      "| `not_a_key` | another table |",
  };
  EXPECT_EQ(documented_keys(lines), (std::map<std::string, int>{{"a", 1}, {"b", 1}}));
}

TEST(ReadmeConfigTable, ListsEveryKeyOnce) {
  const auto documented = documented_keys(configuration_section(STX_SOURCE_DIR "/README.md"));
  ASSERT_FALSE(documented.empty()) << "no key table under \"## Configuration\" in README.md";
  std::set<std::string> table;
  for (const config_impl::ConfigKey& key : config_impl::config_keys()) {
    table.emplace(key.name);
  }
  for (const std::string& key : table) {
    EXPECT_TRUE(documented.contains(key)) << "README.md does not document the key " << key;
  }
  for (const auto& [key, rows] : documented) {
    EXPECT_TRUE(table.contains(key)) << "README.md documents " << key << ", which is no key";
    EXPECT_EQ(rows, 1) << "README.md lists " << key << " in " << rows << " rows";
  }
}

}  // namespace
}  // namespace stx
