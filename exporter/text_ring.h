#pragma once
// Exchange texts of every target in one byte ring of fixed size: the newest texts are kept,
// whichever target they belong to. Memory stays bounded at 100,000 targets, while a setup of
// a few thousand keeps every target's recent exchanges. Not thread-safe (the board locks).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace stx {

class TextRing {
 public:
  struct Ref {
    std::uint64_t at = 0;  // absolute position: bytes written before this text
    std::uint32_t size = 0;
  };

  explicit TextRing(std::size_t capacity) : capacity_(capacity) {}

  // Texts longer than the capacity keep their first `capacity` bytes.
  Ref put(std::string_view text);
  // Copies the text into `out`; false when newer texts have overwritten it.
  bool get(Ref r, std::string& out) const;
  // Copies r.size bytes into `out`; false when newer texts have overwritten them.
  bool get(Ref r, void* out) const;
  std::size_t capacity() const { return capacity_; }

 private:
  std::size_t capacity_;
  std::string bytes_;  // grows to capacity_ on first use, then wraps
  std::uint64_t written_ = 0;
  std::size_t head_ = 0;  // written_ % capacity_, kept: a division at every put costs
};

}  // namespace stx
