// StreamFramer on a TCP/TLS byte stream cut into segments of fuzzer-chosen sizes.
//
// Input: byte 0 picks how many size bytes follow (1-16); the sizes are used in turn, over
// and over, to cut the rest into appends. Checked, all by the framer's design:
// - every message is exactly the next bytes of the stream after skipped line endings, does
//   not start with a line ending, and fits kMaxSipMessageSize;
// - only line endings are consumed outside messages; a pong ends in CRLF;
// - unconsumed bytes after draining stay within the header and message limits;
// - an error is final: the framer stays dead, returns the same error and holds nothing;
// - the messages and the final error do not depend on how the stream was cut;
// - a framed message that parse_sip_response accepts ends where the framer ended it;
// - reset() forgets everything, so the framer then frames the stream as a new one does.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "probes/stream_framer.h"
#include "sip/sip_response.h"

namespace {

using stx::FrameError;
using stx::FrameEvent;
using stx::FrameKind;
using stx::StreamFramer;

// What is left unconsumed after draining: an unterminated header block is cut at
// kMaxStreamHeaderBytes + 3 bytes, a message waiting for its body is below the message limit.
constexpr std::size_t kMaxBuffered = stx::kMaxStreamHeaderBytes + 3 > stx::kMaxSipMessageSize
                                         ? stx::kMaxStreamHeaderBytes + 3
                                         : stx::kMaxSipMessageSize;

struct Outcome {
  std::vector<std::string> messages;
  FrameError error = FrameError::none;
};

bool only_line_endings(std::string_view s) {
  return s.find_first_not_of("\r\n") == std::string_view::npos;
}

// Follows one framer against the bytes it was given so far (`fed`).
struct Tracker {
  StreamFramer& framer;
  std::string fed;
  std::size_t consumed = 0;
  Outcome out;

  void append(std::string_view bytes) {
    const bool was_dead = framer.dead();
    framer.append(bytes);
    if (was_dead) {
      FUZZ_CHECK(framer.buffered() == 0);
      return;
    }
    fed.append(bytes);
    FUZZ_CHECK(framer.buffered() == fed.size() - consumed);
  }

  void drain() {
    for (;;) {
      const std::uint64_t pings = framer.pings_received();
      const FrameEvent ev = framer.next();
      if (ev.kind == FrameKind::error) return on_error(ev.error);
      const std::size_t now = fed.size() - framer.buffered();
      FUZZ_CHECK(now >= consumed);
      const std::string_view taken(fed.data() + consumed, now - consumed);
      consumed = now;
      FUZZ_CHECK(framer.pings_received() >= pings);
      if (ev.kind == FrameKind::message) {
        on_message(ev.message, taken);
        continue;
      }
      FUZZ_CHECK(only_line_endings(taken));
      FUZZ_CHECK(taken.size() >= 4 * (framer.pings_received() - pings));
      if (ev.kind == FrameKind::pong) {
        FUZZ_CHECK(taken.size() >= 2 && taken.substr(taken.size() - 2) == "\r\n");
        continue;
      }
      FUZZ_CHECK(ev.kind == FrameKind::need_more);
      FUZZ_CHECK(framer.buffered() <= kMaxBuffered);
      return;
    }
  }

  void on_message(std::string_view message, std::string_view taken) {
    FUZZ_CHECK(!message.empty() && message.size() <= stx::kMaxSipMessageSize);
    FUZZ_CHECK(taken.size() >= message.size());
    FUZZ_CHECK(taken.substr(taken.size() - message.size()) == message);
    FUZZ_CHECK(only_line_endings(taken.substr(0, taken.size() - message.size())));
    FUZZ_CHECK(message[0] != '\n' && message.substr(0, 2) != "\r\n");
    // What the engine does next with a framed message; where both accept it, the parser
    // must end the message where the framer did.
    stx::SipResponse r;
    if (stx::parse_sip_response(message, r) == stx::SipParseError::ok) {
      FUZZ_CHECK(r.message_length == message.size());
    }
    out.messages.emplace_back(message);
  }

  void on_error(FrameError e) {
    FUZZ_CHECK(e != FrameError::none);
    FUZZ_CHECK(framer.dead());
    FUZZ_CHECK(framer.buffered() == 0);
    const FrameEvent again = framer.next();
    FUZZ_CHECK(again.kind == FrameKind::error && again.error == e);
    out.error = e;
  }
};

std::size_t segment_size(std::uint8_t b) {
  // Mostly small segments; the top values give 512 B .. 32 MiB (the rest of the input).
  return b < 0xf0 ? std::size_t{b} + 1 : std::size_t{512} << (b - 0xf0);
}

Outcome run_segmented(std::string_view stream, const std::vector<std::size_t>& sizes) {
  StreamFramer framer;
  Tracker t{framer, {}, 0, {}};
  std::size_t max_append = 0;
  for (std::size_t pos = 0, i = 0; pos < stream.size(); ++i) {
    const std::size_t n = std::min(sizes[i % sizes.size()], stream.size() - pos);
    max_append = std::max(max_append, n);
    t.append(stream.substr(pos, n));
    pos += n;
    t.drain();
    // Compaction keeps the buffer within the limits plus one append (growth may double it).
    FUZZ_CHECK(framer.capacity() <= 4 * (kMaxBuffered + max_append) + 64);
  }
  t.drain();
  return t.out;
}

Outcome run_whole(StreamFramer& framer, std::string_view stream) {
  Tracker t{framer, {}, 0, {}};
  t.append(stream);
  t.drain();
  return t.out;
}

bool same(const Outcome& a, const Outcome& b) {
  return a.messages == b.messages && a.error == b.error;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t count = static_cast<std::size_t>(data[0] & 0x0f) + 1;
  if (size < 1 + count) return 0;
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < count; ++i) sizes.push_back(segment_size(data[1 + i]));
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1 + count, size - 1 - count);

  const Outcome segmented = run_segmented(stream, sizes);
  StreamFramer framer;
  const Outcome whole = run_whole(framer, stream);
  FUZZ_CHECK(same(segmented, whole));

  // A dead or half-way framer, once reset, frames the stream like a new one.
  framer.append("SIP/2.0 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  framer.reset();
  FUZZ_CHECK(!framer.dead() && framer.buffered() == 0 && framer.pings_received() == 0);
  FUZZ_CHECK(same(run_whole(framer, stream), whole));
  return 0;
}
