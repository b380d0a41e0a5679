#pragma once
// One copy of each distinct SharedSettings in a configuration: a large fleet mostly differs
// in name, URI and labels, and its targets' texts, codes, TLS and credentials are a handful
// of sets.
#include <cstddef>
#include <unordered_map>

#include "config/config.h"

namespace stx::config_impl {

class SettingsInterner {
 public:
  // Makes `s` share an equal set interned before, or interns it.
  void intern(Shared<SharedSettings>& s);

 private:
  std::unordered_multimap<std::size_t, Shared<SharedSettings>> seen_;  // by hash_of
};

}  // namespace stx::config_impl
