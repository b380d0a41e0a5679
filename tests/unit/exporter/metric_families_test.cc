// The family table against what derives from it: the README's metrics tables, the bodies
// /metrics and /probe serve (the golden files the writer is held to), and config's refusal
// of static labels that would collide with the exporter's own.
#include "exporter/metric_families.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "tests/unit/config/parse_helpers.h"

namespace stx {
namespace {

using Names = std::set<std::string, std::less<>>;

std::string read(const std::string& path) {
  std::ifstream in(std::string(STX_SOURCE_DIR) + "/" + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The `backticked` words of s, in order.
std::vector<std::string> code_spans(const std::string& s) {
  std::vector<std::string> spans;
  for (std::size_t open = s.find('`'); open != std::string::npos; open = s.find('`', open)) {
    const std::size_t close = s.find('`', open + 1);
    if (close == std::string::npos) break;
    spans.push_back(s.substr(open + 1, close - open - 1));
    open = close + 1;
  }
  return spans;
}

std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  std::istringstream in(row.substr(1));
  for (std::string cell; std::getline(in, cell, '|');) out.push_back(cell);
  return out;
}

struct ReadmeRow {
  std::string type;  // "gauge (1)" reads "gauge"
  Names labels;      // the first word of each comma-separated item: `result`=`a`/`b` is result
};

// The rows of every table in README's "## Metrics" section, in order.
std::vector<std::pair<std::string, ReadmeRow>> readme_families() {
  std::vector<std::pair<std::string, ReadmeRow>> rows;
  bool in_section = false;
  for (const std::string& line : lines_of(read("README.md"))) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Metrics";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    const std::vector<std::string> c = cells(line);
    if (c.size() < 3) continue;
    ReadmeRow row;
    row.type = c[1].substr(1, c[1].find_first_of(" (", 1) - 1);
    std::istringstream items(c[2]);
    for (std::string item; std::getline(items, item, ',');) {
      const auto spans = code_spans(item);
      if (!spans.empty()) row.labels.insert(spans.front());
    }
    rows.emplace_back(code_spans(c[0]).at(0), row);
  }
  return rows;
}

TEST(MetricFamilies, ReadmeListsExactlyTheTablesFamilies) {
  const auto readme = readme_families();
  std::vector<std::string> documented;
  documented.reserve(readme.size());
  for (const auto& [name, row] : readme) documented.push_back(name);
  std::vector<std::string> declared;
  declared.reserve(std::size(kFamilies));
  for (const FamilySpec& f : kFamilies) declared.emplace_back(f.name);
  ASSERT_EQ(documented, declared) << "README.md ## Metrics and exporter/metric_families.h differ";
  for (std::size_t i = 0; i < readme.size(); ++i) {
    const FamilySpec& f = kFamilies[i];
    const ReadmeRow& row = readme[i].second;
    EXPECT_EQ(row.type, type_name(f.type)) << f.name;
    Names own;
    for (const std::string_view l : f.labels) {
      if (!l.empty()) own.emplace(l);
    }
    EXPECT_EQ(row.labels, own) << f.name << ": the README's extra labels";
  }
}

TEST(MetricFamilies, EveryLabelOfEveryFamilyIsReservedInConfig) {
  for (const FamilySpec& f : kFamilies) {
    for (const std::string_view l : label_names(f)) {
      EXPECT_TRUE(is_reserved_label(l)) << f.name << " writes " << l;
    }
  }
  for (const std::string_view l : kScrapeLabels) EXPECT_TRUE(is_reserved_label(l)) << l;
}

// A configuration whose one target has the static label `name`.
std::string with_static_label(const std::string& name) {
  return "[[target]]\nname = \"a\"\nuri = \"sip:192.0.2.1\"\nlabels = { " + name + " = \"x\" }\n";
}

// A static label named like one of the exporter's would duplicate it in a series, and
// Prometheus rejects the whole scrape (it happened with `cipher`).
TEST(MetricFamilies, ConfigRefusesEveryFamilyLabelAsStaticLabel) {
  Names names(std::begin(kScrapeLabels), std::end(kScrapeLabels));
  for (const FamilySpec& f : kFamilies) {
    for (const std::string_view l : label_names(f)) names.emplace(l);
  }
  for (const std::string& name : names) {
    const std::string error = test::error_of(with_static_label(name));
    EXPECT_NE(error.find("reserved"), std::string::npos) << name << ": " << error;
  }
  // The check above can fail: a name of no family is accepted.
  const Config ok = test::parse_ok(with_static_label("carrier"));
  ASSERT_EQ(ok.targets.size(), 1u);
  ASSERT_EQ(ok.targets[0].labels.size(), 1u);
  EXPECT_EQ(ok.targets[0].labels[0].first, "carrier");
}

const FamilySpec* find_family(std::string_view name) {
  for (const FamilySpec& f : kFamilies) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The family a sample belongs to: its name, or a histogram's name before _bucket/_sum/_count.
const FamilySpec* family_of_sample(std::string_view sample) {
  if (const FamilySpec* f = find_family(sample)) return f;
  for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (!sample.ends_with(suffix)) continue;
    const FamilySpec* f = find_family(sample.substr(0, sample.size() - suffix.size()));
    if (f != nullptr && f->type == FamilyType::histogram) return f;
  }
  return nullptr;
}

// The label names of one sample line (values may hold escaped quotes).
Names sample_labels(const std::string& line) {
  Names names;
  std::size_t at = line.find('{');
  if (at == std::string::npos) return names;
  ++at;
  while (at < line.size() && line[at] != '}') {
    const auto eq = line.find('=', at);
    names.insert(line.substr(at, eq - at));
    at = eq + 2;  // past ="
    while (at < line.size() && line[at] != '"') at += line[at] == '\\' ? 2 : 1;
    at += line[at + 1] == ',' ? 2 : 1;  // past the closing quote and a comma
  }
  return names;
}

// Checks a golden body against the table: HELP and TYPE as declared, every series' labels
// (less `static_labels`) within its family's, and together all of them. Returns the
// families seen.
Names check_body(const std::string& body, const Names& static_labels) {
  Names seen;
  std::map<std::string, Names, std::less<>> labels_seen;
  for (const std::string& line : lines_of(body)) {
    std::istringstream words(line);
    std::string hash, kind, name;
    if (line.rfind("# ", 0) == 0) {
      words >> hash >> kind >> name;
      const FamilySpec* f = find_family(name);
      if (f == nullptr) {
        ADD_FAILURE() << name << " is not in the family table";
        continue;
      }
      seen.insert(name);
      const std::string rest = line.substr(hash.size() + kind.size() + name.size() + 3);
      EXPECT_EQ(rest, kind == "HELP" ? f->help : type_name(f->type)) << line;
      continue;
    }
    const std::string sample = line.substr(0, line.find_first_of("{ "));
    const FamilySpec* f = family_of_sample(sample);
    if (f == nullptr) {
      ADD_FAILURE() << sample << " belongs to no family of the table";
      continue;
    }
    for (const std::string& l : sample_labels(line)) {
      if (static_labels.count(l) == 0) labels_seen[std::string(f->name)].insert(l);
    }
  }
  for (const std::string& name : seen) {
    const FamilySpec& f = *find_family(name);
    const std::vector<std::string_view> declared = label_names(f);
    EXPECT_EQ(labels_seen[name], Names(declared.begin(), declared.end())) << name;
  }
  return seen;
}

Names families_of(FamilyScope a, FamilyScope b) {
  Names names;
  for (const FamilySpec& f : kFamilies) {
    if (f.scope == a || f.scope == b) names.emplace(f.name);
  }
  return names;
}

TEST(MetricFamilies, MetricsBodyWritesEveryTargetAndExporterFamilyAsDeclared) {
  const Names seen =
      check_body(read("tests/data/exposition/metrics.txt"), Names{"carrier", "site"});
  EXPECT_EQ(seen, families_of(FamilyScope::target, FamilyScope::exporter));
}

// A /probe family named like a /metrics sample (a histogram's _bucket/_sum/_count too)
// would mean two things under one name in the same Prometheus.
TEST(MetricFamilies, ProbeFamiliesShareNoNameWithMetricsSamples) {
  Names metrics_samples;
  for (const FamilySpec& f : kFamilies) {
    if (f.scope == FamilyScope::probe) continue;
    metrics_samples.emplace(f.name);
    if (f.type != FamilyType::histogram) continue;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      metrics_samples.insert(std::string(f.name) + suffix);
    }
  }
  for (const FamilySpec& f : kFamilies) {
    if (f.scope == FamilyScope::probe) {
      EXPECT_EQ(metrics_samples.count(f.name), 0u) << f.name;
    }
  }
}

TEST(MetricFamilies, ProbeBodyWritesEveryProbeFamilyAsDeclared) {
  const Names seen = check_body(read("tests/data/exposition/probe.txt"), Names{});
  EXPECT_EQ(seen, families_of(FamilyScope::probe, FamilyScope::probe));
}

}  // namespace
}  // namespace stx
