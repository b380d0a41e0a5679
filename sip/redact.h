#pragma once
// Hides digest credentials in SIP text before it is shown (status page, /probe debug):
// a digest response with its nonce is enough to guess a weak password offline.
#include <string>
#include <string_view>

namespace stx {

// `message` with every Authorization / Proxy-Authorization value replaced by
// "Digest <credentials hidden>".
std::string redact_credentials(std::string_view message);

}  // namespace stx
