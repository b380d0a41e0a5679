#pragma once
// Small integers that name targets and addresses in timer entries and Via branches.
#include <cstdint>
#include <memory>
#include <vector>

namespace stx {

// A free slot of `slots` (reused first, else appended).
template <typename T>
std::uint32_t take_slot(std::vector<std::unique_ptr<T>>& slots, std::vector<std::uint32_t>& free) {
  if (!free.empty()) {
    const std::uint32_t slot = free.back();
    free.pop_back();
    return slot;
  }
  slots.emplace_back();
  return static_cast<std::uint32_t>(slots.size() - 1);
}

}  // namespace stx
