#pragma once
// Random identifiers for Via branches, Call-IDs and tags, written in place (no allocation).
#include <cstdint>
#include <random>

namespace stx {

class IdGenerator {
 public:
  explicit IdGenerator(std::uint64_t seed) : rng_(seed) {}

  std::uint64_t next() { return rng_(); }

  // Writes `n` lower-case hex digits of `value` (most significant first) to `out`.
  static void hex(std::uint64_t value, char* out, int n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    for (int i = n - 1; i >= 0; --i) {
      out[i] = kDigits[value & 0xf];
      value >>= 4;
    }
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace stx
