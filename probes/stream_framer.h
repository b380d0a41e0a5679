#pragma once
// Frames SIP messages on a byte stream (RFC 3261 18.3): the header block ends at the first
// empty line and Content-Length, mandatory on streams, gives the body. CRLFs between
// messages are RFC 5626 keepalives: a bare CRLF is the pong to our ping, a double CRLF is
// the peer's ping (we owe nothing). Pure and bounded: one reused buffer, no sockets.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace stx {

// A header block (start line and headers) longer than this without its empty line is an
// error; the whole message is bounded by kMaxSipMessageSize (sip/sip_response.h).
inline constexpr std::size_t kMaxStreamHeaderBytes = 64 * 1024;

enum class FrameError : std::uint8_t {
  none,
  too_large,               // header block or message over the limits
  bad_content_length,      // not 1*DIGIT, or given twice
  missing_content_length,  // mandatory on streams
};

// "too_large", "bad_content_length", "missing_content_length" ("none" for none).
std::string_view to_string(FrameError e);

enum class FrameKind : std::uint8_t { need_more, message, pong, error };

struct FrameEvent {
  FrameKind kind = FrameKind::need_more;
  // kind == message: start line to end of body; valid until the next append() or reset().
  std::string_view message;
  FrameError error = FrameError::none;  // kind == error
};

class StreamFramer {
 public:
  // Copies `bytes` after what is still unconsumed (compacting consumed bytes first).
  // Ignored once the framer is dead. Memory stays within the limits plus one append.
  void append(std::string_view bytes);
  // The next event. After an error the framer is dead and returns that error again.
  FrameEvent next();
  bool dead() const { return error_ != FrameError::none; }
  // Unconsumed bytes held.
  std::size_t buffered() const { return buf_.size() - pos_; }
  // Buffer capacity, to check that memory stays bounded.
  std::size_t capacity() const { return buf_.capacity(); }
  // Peer pings (double CRLF) skipped so far.
  std::uint64_t pings_received() const { return pings_; }
  // Forgets everything (a new connection); keeps the buffer's capacity.
  void reset();

 private:
  FrameEvent fail(FrameError e);
  FrameEvent keepalive(bool& undecided);
  bool find_header_end();
  FrameError read_content_length(std::string_view headers);

  std::string buf_;
  std::size_t pos_ = 0;         // start of the unconsumed bytes
  std::size_t scan_ = 0;        // where the search for the header end resumes
  std::size_t header_len_ = 0;  // nonzero once the current message's header block is known
  std::size_t body_len_ = 0;
  std::uint64_t pings_ = 0;
  FrameError error_ = FrameError::none;
};

}  // namespace stx
