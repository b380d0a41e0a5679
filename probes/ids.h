#pragma once
// Random identifiers for Via branches, Call-IDs, tags and cnonces, written in place (no
// allocation). An off-path spoofer must not be able to predict them: a forged answer is
// accepted only with the branch, Call-ID and CSeq of an open probe. So they come from the
// kernel's CSPRNG (getrandom), fetched 4 KiB at a time so an identifier costs no syscall;
// a seeded PRNG would give its state away to anyone who sees a few hundred of them.
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>

namespace stx {

namespace ids_detail {
// The two lower-case hex digits of each byte value.
struct HexPairs {
  char digits[256][2] = {};
  constexpr HexPairs() {
    constexpr char kDigits[] = "0123456789abcdef";
    for (int b = 0; b < 256; ++b) {
      digits[b][0] = kDigits[b >> 4];
      digits[b][1] = kDigits[b & 0xf];
    }
  }
};
inline constexpr HexPairs kHexPairs;
}  // namespace ids_detail

class IdGenerator {
 public:
  std::uint64_t next() {
    if (pos_ == pool_.size()) refill();
    return pool_[pos_++];
  }

  // Writes `n` lower-case hex digits of `value` (most significant first) to `out`. Two
  // digits a step from a table of byte pairs: every probe writes about 70 of them.
  static void hex(std::uint64_t value, char* out, int n) {
    int i = n;
    for (; i >= 2; i -= 2) {
      std::memcpy(out + i - 2, ids_detail::kHexPairs.digits[value & 0xff], 2);
      value >>= 8;
    }
    if (i == 1) out[0] = ids_detail::kHexPairs.digits[value & 0xf][1];
  }

 private:
  void refill() {
    auto* bytes = reinterpret_cast<unsigned char*>(pool_.data());
    std::size_t got = 0;
    const std::size_t want = sizeof pool_;
    while (got < want) {
      const ssize_t n = getrandom(bytes + got, want - got, 0);
      if (n > 0) {
        got += static_cast<std::size_t>(n);
      } else if (errno != EINTR) {
        break;  // no getrandom (very old kernel): std::random_device below
      }
    }
    if (got < want) {
      std::random_device rd;
      for (auto& v : pool_) v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    }
    pos_ = 0;
  }

  std::array<std::uint64_t, 512> pool_{};
  std::size_t pos_ = pool_.size();
};

}  // namespace stx
