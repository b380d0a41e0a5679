#include "exporter/metric_families.h"

namespace stx {
namespace {

// family(id) indexes the table: each entry sits at its id's position.
constexpr bool ids_are_positions() {
  for (std::size_t i = 0; i < std::size(kFamilies); ++i) {
    if (static_cast<std::size_t>(kFamilies[i].id) != i) return false;
  }
  return true;
}
static_assert(ids_are_positions());

}  // namespace

std::string_view type_name(FamilyType t) {
  switch (t) {
    case FamilyType::counter:
      return "counter";
    case FamilyType::gauge:
      return "gauge";
    case FamilyType::histogram:
      return "histogram";
  }
  return "untyped";
}

std::vector<std::string_view> label_names(const FamilySpec& f) {
  std::vector<std::string_view> names;
  if (f.scope == FamilyScope::target) names.push_back(kTargetLabel);
  for (const std::string_view l : f.labels) {
    if (!l.empty()) names.push_back(l);
  }
  if (f.type == FamilyType::histogram) names.push_back(kLeLabel);
  return names;
}

}  // namespace stx
