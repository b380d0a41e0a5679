#pragma once
// The bounds config values are checked against, in one place so that messages and README agree.
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace stx::config_impl {

using Millis = std::chrono::milliseconds;

inline constexpr std::size_t kMaxNameLength = 128;
inline constexpr std::size_t kMaxUriLength = 1024;
inline constexpr std::size_t kMaxHeaderValueLength = 256;  // from, to, contact, user_agent, headers
inline constexpr std::size_t kMaxLabelValueLength = 1024;
inline constexpr std::size_t kMaxModuleNameLength = 64;
inline constexpr std::size_t kMaxRuriUserLength = 64;
inline constexpr std::size_t kMaxHeaderNameLength = 64;
inline constexpr std::size_t kMaxExtraHeaders = 16;
inline constexpr std::size_t kMaxPasswordLength = 1024;
inline constexpr std::size_t kMaxPathLength = 4096;
inline constexpr std::int64_t kMinCount = 1;
inline constexpr std::int64_t kMaxCount = 100;
inline constexpr std::int64_t kMaxMinContacts = 1000;
inline constexpr Millis kMinInterval{1'000};
inline constexpr Millis kWarnInterval{10'000};
inline constexpr Millis kMaxInterval{24 * 3'600'000};
inline constexpr Millis kMaxModuleTimeout{60'000};  // a /probe request must not hang
inline constexpr Millis kMaxInviteCancelAfter{30'000};  // Timer B is 32 s
inline constexpr Millis kMinKeepalive{5'000};
inline constexpr Millis kMaxKeepalive{3'600'000};
inline constexpr Millis kMinDnsTtl{1'000};
inline constexpr Millis kMaxDnsDuration{24 * 3'600'000};

}  // namespace stx::config_impl
