// README.md's configuration reference lists exactly the keys of the key table, and where each
// may be set, so that a new key cannot ship undocumented and a removed one cannot linger.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
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

// What the README says of one key.
struct DocumentedKey {
  int rows = 0;       // how many rows name it
  std::string where;  // its "where" cell: "`[exporter]`", "defaults, target, module", ...
  bool operator==(const DocumentedKey&) const = default;
};

// Every key in a table whose first column is "key". A row's first cell names one key or
// several: "`dns_min_ttl` / `dns_max_ttl`".
std::map<std::string, DocumentedKey> documented_keys(const std::vector<std::string>& lines) {
  static const std::regex header(R"(^\|\s*key\s*\|)");
  static const std::regex name(R"(`([A-Za-z0-9_]+)`)");
  std::map<std::string, DocumentedKey> keys;
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
    const std::size_t second_bar = line.find('|', 1);
    const std::string first_cell = line.substr(1, second_bar - 1);
    const std::string where =
        line.substr(second_bar + 1, line.find('|', second_bar + 1) - second_bar - 1);
    for (std::sregex_iterator it(first_cell.begin(), first_cell.end(), name), end; it != end;
         ++it) {
      DocumentedKey& key = keys[(*it)[1]];
      ++key.rows;
      key.where = where;
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
  const std::map<std::string, DocumentedKey> expected = {{"a", {1, " `[exporter]` "}},
                                                         {"b", {1, " `[exporter]` "}}};
  EXPECT_EQ(documented_keys(lines), expected);
}

// The tables a "where" cell names, as KeyPlace bits.
std::uint8_t places_of(const std::string& where) {
  std::uint8_t places = 0;
  if (where.find("[exporter]") != std::string::npos) places |= config_impl::kInExporter;
  if (where.find("defaults") != std::string::npos) places |= config_impl::kInDefaults;
  if (where.find("target") != std::string::npos) places |= config_impl::kInTarget;
  if (where.find("module") != std::string::npos) places |= config_impl::kInModule;
  return places;
}

TEST(ReadmeConfigTable, SaysWhereEachKeyMayBeSet) {
  const auto documented = documented_keys(configuration_section(STX_SOURCE_DIR "/README.md"));
  for (const config_impl::ConfigKey& key : config_impl::config_keys()) {
    const auto it = documented.find(std::string(key.name));
    if (it == documented.end()) continue;  // ListsEveryKeyOnce says so
    EXPECT_EQ(places_of(it->second.where), key.places)
        << "README.md says " << key.name << " goes in" << it->second.where;
  }
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
  for (const auto& [key, doc] : documented) {
    EXPECT_TRUE(table.contains(key)) << "README.md documents " << key << ", which is no key";
    EXPECT_EQ(doc.rows, 1) << "README.md lists " << key << " in " << doc.rows << " rows";
  }
}

}  // namespace
}  // namespace stx
