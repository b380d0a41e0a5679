#pragma once
// Quoting of user-supplied text inside one-line error messages.
//
// Both functions wrap `s` in double quotes and escape '"' and '\' with a
// backslash, so the quoted text can never be confused with the message around
// it. They differ only in how bytes outside printable ASCII are shown.
#include <string>
#include <string_view>

namespace stx {

// Escapes every byte outside printable ASCII (C0 controls, DEL and every byte
// >= 0x80) as \xNN, so the result is pure printable ASCII: "5\xc2\xb5s".
std::string quote_ascii(std::string_view s);

// Lets UTF-8 text through for readability but keeps the message on one line:
// C0 controls and DEL become \xNN, the C1 controls U+0080..U+009F (which
// include NEL) become \u0080..\u009f, and U+2028 / U+2029 become \u2028 / \u2029.
std::string quote_utf8(std::string_view s);

}  // namespace stx
