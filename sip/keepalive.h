#pragma once
// RFC 5626 keepalives: what a SIP peer may send to our socket that is not a message and not
// an error. Peers such as linphone ping every 30 s; they are dropped without a count or a log.
#include <string_view>

namespace stx {

// A datagram of line endings only (the CRLFCRLF ping or CRLF pong of RFC 5626 3.5.1), or a
// STUN Binding message (RFC 5389: the STUN keepalive of RFC 5626 4.4.2 and 8.2).
bool is_keepalive_datagram(std::string_view datagram);

}  // namespace stx
