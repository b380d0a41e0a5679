#pragma once
// [module.<name>] tables: probe settings for /probe?module=<name>, resolved against [defaults].
// The rules for which keys a module may set live in the key table (config_keys.h).
#include <toml++/toml.h>

#include <vector>

#include "config/config.h"
#include "config/settings.h"
#include "config/toml_values.h"

namespace stx::config_impl {

// The modules of `node` (the top-level `module` table, or null) plus "default", which is
// [defaults] itself; sorted by name.
std::vector<ModuleConfig> parse_modules(ConfigSource& src, const toml::node* node,
                                        const Settings& defaults);

}  // namespace stx::config_impl
