#pragma once
// gzip for /metrics when the scraper asks for it (libdeflate).
#include <string>
#include <string_view>

namespace stx {

// Returns the gzip member for `data`; throws std::runtime_error if compression fails.
std::string gzip_compress(std::string_view data);

// True when an Accept-Encoding header value accepts gzip (q > 0).
bool accepts_gzip(std::string_view header);

}  // namespace stx
