#include "sip/keepalive.h"

#include <cstdint>

namespace stx {
namespace {

constexpr std::size_t kStunHeaderSize = 20;
constexpr std::uint32_t kStunMagicCookie = 0x2112A442;
constexpr unsigned kStunMethodMask = 0x3EEF;  // the type's method bits, without the class bits
constexpr unsigned kStunBinding = 0x0001;

unsigned byte_at(std::string_view s, std::size_t i) { return static_cast<unsigned char>(s[i]); }

bool is_stun_binding(std::string_view d) {
  if (d.size() < kStunHeaderSize) return false;
  const unsigned type = (byte_at(d, 0) << 8) | byte_at(d, 1);
  const std::size_t length = (byte_at(d, 2) << 8) | byte_at(d, 3);
  const std::uint32_t cookie = (static_cast<std::uint32_t>(byte_at(d, 4)) << 24) |
                               (byte_at(d, 5) << 16) | (byte_at(d, 6) << 8) | byte_at(d, 7);
  // The two top bits are zero, attributes are 4-byte aligned and fill the datagram exactly.
  return (type & 0xC000) == 0 && (type & kStunMethodMask) == kStunBinding &&
         cookie == kStunMagicCookie && length % 4 == 0 && kStunHeaderSize + length == d.size();
}

}  // namespace

bool is_keepalive_datagram(std::string_view datagram) {
  if (datagram.empty()) return false;
  if (datagram.find_first_not_of("\r\n") == std::string_view::npos) return true;
  return is_stun_binding(datagram);
}

}  // namespace stx
