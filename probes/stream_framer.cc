#include "probes/stream_framer.h"

#include <cstring>

#include "sip/sip_grammar.h"
#include "sip/sip_response.h"

namespace stx {
namespace {

constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }
constexpr bool is_lws(char c) { return is_wsp(c) || c == '\r' || c == '\n'; }

constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// The line starting at `pos` without its line ending, and where the next line starts.
std::string_view line_at(std::string_view text, std::size_t pos, std::size_t& next) {
  std::size_t lf = text.find('\n', pos);
  if (lf == std::string_view::npos) lf = text.size();
  next = lf + 1;
  std::size_t end = lf;
  if (end > pos && text[end - 1] == '\r') --end;
  return text.substr(pos, end - pos);
}

// 1*DIGIT surrounded by optional LWS (folded lines included). Saturates far above any
// acceptable size so an absurd value still reads as "too large", not as a small number.
bool parse_length(std::string_view v, std::size_t& out) {
  std::size_t i = 0;
  while (i < v.size() && is_lws(v[i])) ++i;
  const std::size_t digits_begin = i;
  std::size_t value = 0;
  constexpr std::size_t kSaturated = std::size_t{1} << 40;
  while (i < v.size() && is_digit(v[i])) {
    value = value * 10 + static_cast<std::size_t>(v[i] - '0');
    if (value > kSaturated) value = kSaturated;
    ++i;
  }
  if (i == digits_begin) return false;
  while (i < v.size() && is_lws(v[i])) ++i;
  if (i != v.size()) return false;
  out = value;
  return true;
}

}  // namespace

std::string_view to_string(FrameError e) {
  switch (e) {
    case FrameError::none:
      return "none";
    case FrameError::too_large:
      return "too_large";
    case FrameError::bad_content_length:
      return "bad_content_length";
    case FrameError::missing_content_length:
      return "missing_content_length";
  }
  return "unknown";
}

void StreamFramer::append(std::string_view bytes) {
  if (dead()) return;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

void StreamFramer::reset() {
  buf_.clear();
  pos_ = scan_ = header_len_ = body_len_ = 0;
  pings_ = 0;
  error_ = FrameError::none;
}

FrameEvent StreamFramer::fail(FrameError e) {
  error_ = e;
  // Nothing more is read from a dead framer; release what the bad message used.
  buf_.clear();
  buf_.shrink_to_fit();
  pos_ = 0;
  FrameEvent ev;
  ev.kind = FrameKind::error;
  ev.error = e;
  return ev;
}

// Line endings between messages (RFC 5626 4.4.1, RFC 3261 7.5). Returns a pong, or
// need_more with `undecided` set while the bytes seen could still be either.
FrameEvent StreamFramer::keepalive(bool& undecided) {
  undecided = false;
  for (;;) {
    const std::size_t avail = buf_.size() - pos_;
    if (avail == 0) return {};
    const char* p = buf_.data() + pos_;
    if (p[0] == '\n') {  // a stray LF: skip like the response parser does
      ++pos_;
      continue;
    }
    if (p[0] != '\r') return {};
    if (avail < 2 || (avail == 3 && p[1] == '\n' && p[2] == '\r')) {
      undecided = true;  // a CR, or a CRLF CR that may be the start of a ping
      return {};
    }
    if (p[1] != '\n') return {};  // not a line ending: let the message framing judge it
    if (avail >= 4 && p[2] == '\r' && p[3] == '\n') {
      pos_ += 4;
      ++pings_;
      continue;
    }
    // A CRLF on its own is the pong. One split between the two CRLFs of a peer's ping
    // reads as a pong too; RFC 5626 peers send the ping in one write.
    pos_ += 2;
    FrameEvent ev;
    ev.kind = FrameKind::pong;
    return ev;
  }
}

// Finds the empty line ending the header block (CRLF or bare LF endings), resuming where
// the last search stopped so byte-by-byte input stays linear.
bool StreamFramer::find_header_end() {
  const std::size_t avail = buf_.size() - pos_;
  const std::size_t limit = avail < kMaxStreamHeaderBytes + 3 ? avail : kMaxStreamHeaderBytes + 3;
  const char* base = buf_.data() + pos_;
  std::size_t i = scan_;
  while (i < limit) {
    const void* hit = std::memchr(base + i, '\n', limit - i);
    if (hit == nullptr) {
      scan_ = limit;
      return false;
    }
    i = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
    if (i + 1 >= avail) break;
    if (base[i + 1] == '\n') {
      header_len_ = i + 2;
      return true;
    }
    if (base[i + 1] == '\r') {
      if (i + 2 >= avail) break;
      if (base[i + 2] == '\n') {
        header_len_ = i + 3;
        return true;
      }
    }
    ++i;
  }
  scan_ = i < limit ? i : limit;  // resume at the undecided LF
  return false;
}

FrameError StreamFramer::read_content_length(std::string_view headers) {
  bool seen = false;
  std::size_t next = 0;
  line_at(headers, 0, next);  // the start line
  while (next < headers.size()) {
    std::string_view line = line_at(headers, next, next);
    if (line.empty()) break;
    std::size_t k = 0;
    while (k < line.size() && !is_wsp(line[k]) && line[k] != ':') ++k;
    const std::string_view name = line.substr(0, k);
    while (k < line.size() && is_wsp(line[k])) ++k;
    if (k >= line.size() || line[k] != ':') continue;  // not ours to judge
    if (!iequals(name, "content-length") && !iequals(name, "l")) continue;
    if (seen) return FrameError::bad_content_length;
    seen = true;
    // The value runs to the end of the header, folded continuation lines included.
    const std::size_t value_begin = static_cast<std::size_t>(line.data() - headers.data()) + k + 1;
    std::size_t value_end = static_cast<std::size_t>(line.data() - headers.data()) + line.size();
    while (next < headers.size() && is_wsp(headers[next])) {
      const std::string_view cont = line_at(headers, next, next);
      value_end = static_cast<std::size_t>(cont.data() - headers.data()) + cont.size();
    }
    if (!parse_length(headers.substr(value_begin, value_end - value_begin), body_len_)) {
      return FrameError::bad_content_length;
    }
  }
  return seen ? FrameError::none : FrameError::missing_content_length;
}

FrameEvent StreamFramer::next() {
  if (dead()) {
    FrameEvent ev;
    ev.kind = FrameKind::error;
    ev.error = error_;
    return ev;
  }
  if (header_len_ == 0) {
    if (scan_ == 0) {  // no message started yet
      bool undecided = false;
      if (FrameEvent ev = keepalive(undecided); ev.kind != FrameKind::need_more) return ev;
      if (undecided || buf_.size() == pos_) return {};
    }
    if (!find_header_end()) {
      if (scan_ >= kMaxStreamHeaderBytes + 3) return fail(FrameError::too_large);
      return {};
    }
    if (header_len_ > kMaxStreamHeaderBytes) return fail(FrameError::too_large);
    const std::string_view headers(buf_.data() + pos_, header_len_);
    if (const FrameError e = read_content_length(headers); e != FrameError::none) return fail(e);
    if (header_len_ + body_len_ > kMaxSipMessageSize) return fail(FrameError::too_large);
  }
  const std::size_t total = header_len_ + body_len_;
  if (buf_.size() - pos_ < total) return {};  // the body is still coming
  FrameEvent ev;
  ev.kind = FrameKind::message;
  ev.message = std::string_view(buf_.data() + pos_, total);
  pos_ += total;
  header_len_ = body_len_ = scan_ = 0;
  return ev;
}

}  // namespace stx
