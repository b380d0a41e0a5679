#pragma once
// Validation of the `labels` and `headers` tables: names the exporter writes itself (labels it
// sets, headers it sends) are refused, so that no series or request carries one twice.
#include <toml++/toml.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/toml_values.h"

namespace stx::config_impl {

// Merged into `labels`: a name already there (from [defaults]) gets the new value.
void parse_labels(const ConfigSource& src, const toml::node& node, const std::string& key_context,
                  std::map<std::string, std::string>& labels);

// Merged into `headers` in document order: a name already there (any case) from [defaults]
// gets the new value in place; a name twice in one table is an error.
void parse_headers(const ConfigSource& src, const toml::node& node, const std::string& key_context,
                   std::vector<std::pair<std::string, std::string>>& headers);

}  // namespace stx::config_impl
