#pragma once
// RFC 3261 17.1.2.2: retransmission of a non-INVITE request over UDP (Timer E).
#include <algorithm>
#include <chrono>

namespace stx {

inline constexpr std::chrono::milliseconds kT1{500};
inline constexpr std::chrono::milliseconds kT2{4000};

// Interval until the next retransmission after one that waited `current`.
// Starts at T1, doubles up to T2; once a provisional (1xx) response has arrived it is T2.
inline std::chrono::milliseconds next_timer_e(std::chrono::milliseconds current,
                                              bool provisional_seen) {
  if (provisional_seen) return kT2;
  return std::min(current * 2, kT2);
}

}  // namespace stx
