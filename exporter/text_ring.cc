#include "exporter/text_ring.h"

#include <algorithm>
#include <cstring>

namespace stx {

TextRing::Ref TextRing::put(std::string_view text) {
  text = text.substr(0, capacity_);
  const Ref r{written_, static_cast<std::uint32_t>(text.size())};
  // Once, whole: growing by doubling would copy it and hold both copies for a moment. Pages
  // are touched only as they are written.
  if (bytes_.capacity() < capacity_) bytes_.reserve(capacity_);
  while (!text.empty()) {
    const std::size_t n = std::min(text.size(), capacity_ - head_);
    if (bytes_.size() < head_ + n) bytes_.resize(head_ + n);  // the first time round only
    std::memcpy(bytes_.data() + head_, text.data(), n);
    head_ = head_ + n == capacity_ ? 0 : head_ + n;
    written_ += n;
    text.remove_prefix(n);
  }
  return r;
}

bool TextRing::get(Ref r, void* out) const {
  if (written_ - r.at > capacity_ || r.size > capacity_) return false;
  auto* to = static_cast<char*>(out);
  std::size_t pos = r.at % capacity_;
  for (std::size_t left = r.size; left > 0;) {
    const std::size_t n = std::min(left, capacity_ - pos);
    std::memcpy(to, bytes_.data() + pos, n);
    to += n;
    left -= n;
    pos = 0;
  }
  return true;
}

bool TextRing::get(Ref r, std::string& out) const {
  out.clear();
  if (r.size == 0) return true;  // nothing to lose
  if (written_ - r.at > capacity_) return false;
  out.resize(r.size);
  return get(r, out.data());
}

}  // namespace stx
