#include "sip/message_text.h"

#include <cstddef>

namespace stx {
namespace {

enum class NonAscii {
  escape,     // every byte >= 0x80 becomes \xNN
  keep_utf8,  // bytes >= 0x80 pass through, except C1 controls and U+2028 / U+2029
};

std::string quote(std::string_view s, NonAscii non_ascii) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    const auto c = static_cast<unsigned char>(ch);
    if (non_ascii == NonAscii::keep_utf8) {
      const unsigned char next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
      const unsigned char third = i + 2 < s.size() ? static_cast<unsigned char>(s[i + 2]) : 0;
      if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {  // C1 control, UTF-8 C2 80..C2 9F
        out += "\\u00";
        out += kHex[next >> 4];
        out += kHex[next & 0xf];
        i += 1;
        continue;
      }
      if (c == 0xe2 && next == 0x80 && (third == 0xa8 || third == 0xa9)) {  // U+2028, U+2029
        out += third == 0xa8 ? "\\u2028" : "\\u2029";
        i += 2;
        continue;
      }
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && non_ascii == NonAscii::escape)) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

}  // namespace

std::string quote_ascii(std::string_view s) { return quote(s, NonAscii::escape); }

std::string quote_utf8(std::string_view s) { return quote(s, NonAscii::keep_utf8); }

}  // namespace stx
