#pragma once
// Immutable values shared by key: a large fleet has a handful of distinct ones (our local
// identity, a peer's Server header), so each is stored once however many targets use it.
#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace stx {

template <class V>
class Interned {
 public:
  // The value for `key`: the one made before, or make()'s (a shared_ptr<const V>).
  template <class Make>
  std::shared_ptr<const V> get(std::string_view key, Make&& make) {
    if (const auto it = values_.find(key); it != values_.end()) return it->second;
    if (values_.size() >= 2 * kept_) {
      // Now and then, drop the values nothing else holds any more.
      std::erase_if(values_, [](const auto& kv) { return kv.second.use_count() == 1; });
      kept_ = std::max<std::size_t>(values_.size(), kMinKept);
    }
    std::shared_ptr<const V> value = make();
    values_.emplace(std::string(key), value);
    return value;
  }
  std::size_t size() const { return values_.size(); }

 private:
  static constexpr std::size_t kMinKept = 8;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::shared_ptr<const V>, Hash, std::equal_to<>> values_;
  std::size_t kept_ = kMinKept;  // after the last sweep
};

}  // namespace stx
