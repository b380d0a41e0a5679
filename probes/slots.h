#pragma once
// Small integers that name targets and addresses in timer entries and Via branches, and the
// table that holds a record per slot.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define STX_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define STX_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define STX_POISON(p, n) ((void)(p), (void)(n))
#define STX_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace stx {

// One record per slot, or none, stored in chunks of kChunk: a record costs its own size,
// not a heap block of its own (8 to 16 bytes of allocator overhead) and a pointer to it,
// which is about 20 bytes of each of a target's half-dozen records at 100,000 targets.
// Records never move, so a reference stays valid while other slots come and go; a chunk is
// freed when its last record goes. A slot that holds no record is poisoned under ASan, so a
// use after erase() is still caught (for records whose size is a multiple of ASan's 8-byte
// granule, as every record kept in one is).
template <typename T>
class SlotTable {
 public:
  static constexpr std::size_t kChunk = 64;  // one bit each in a word of live_

  SlotTable() = default;
  SlotTable(const SlotTable&) = delete;
  SlotTable& operator=(const SlotTable&) = delete;
  ~SlotTable() { clear(); }

  std::size_t size() const { return size_; }  // slots, with a record or not
  void reserve(std::size_t slots) {
    chunks_.reserve(chunks_for(slots));
    live_.reserve(chunks_for(slots));
  }
  // Grows to `slots` (never shrinks): the new slots hold no record.
  void resize(std::size_t slots) {
    if (slots <= size_) return;
    size_ = slots;
    chunks_.resize(chunks_for(slots));
    live_.resize(chunks_for(slots), 0);
  }

  // The record in `slot`; null if it has none or is past the end.
  T* operator[](std::size_t slot) const {
    if (slot >= size_ || (live_[slot / kChunk] >> (slot % kChunk) & 1) == 0) return nullptr;
    return at(slot);
  }

  // Makes the record of `slot`, which has none (growing the table to hold it).
  template <class... Args>
  T& emplace(std::size_t slot, Args&&... args) {
    resize(slot + 1);
    auto& chunk = chunks_[slot / kChunk];
    if (chunk == nullptr) {
      chunk = std::make_unique_for_overwrite<Raw[]>(kChunk);
      STX_POISON(chunk.get(), sizeof(Raw) * kChunk);
    }
    STX_UNPOISON(&chunk[slot % kChunk], sizeof(Raw));
    T* made = ::new (static_cast<void*>(&chunk[slot % kChunk])) T(std::forward<Args>(args)...);
    live_[slot / kChunk] |= std::uint64_t{1} << (slot % kChunk);
    return *made;
  }

  // Destroys the record of `slot`, which has one.
  void erase(std::size_t slot) {
    at(slot)->~T();
    auto& chunk = chunks_[slot / kChunk];
    STX_POISON(&chunk[slot % kChunk], sizeof(Raw));
    std::uint64_t& word = live_[slot / kChunk];
    word &= ~(std::uint64_t{1} << (slot % kChunk));
    if (word == 0) chunk.reset();
  }

  // Destroys every record; the slots stay, empty.
  void clear() {
    for (std::size_t c = 0; c < chunks_.size(); ++c) {
      for (std::uint64_t word = live_[c]; word != 0; word &= word - 1) {
        erase(c * kChunk + static_cast<std::size_t>(std::countr_zero(word)));
      }
    }
  }

 private:
  struct alignas(T) Raw {
    std::byte bytes[sizeof(T)];
  };
  static std::size_t chunks_for(std::size_t slots) { return (slots + kChunk - 1) / kChunk; }
  T* at(std::size_t slot) const {
    return std::launder(reinterpret_cast<T*>(&chunks_[slot / kChunk][slot % kChunk]));  // NOLINT
  }

  std::vector<std::unique_ptr<Raw[]>> chunks_;  // null: no record in the chunk
  std::vector<std::uint64_t> live_;             // bit s % kChunk of word s / kChunk: s has one
  std::size_t size_ = 0;
};

// The templates above were read with them; no includer needs them.
#undef STX_POISON
#undef STX_UNPOISON

// A free slot of `slots` (reused first, else appended).
template <typename T>
std::uint32_t take_slot(SlotTable<T>& slots, std::vector<std::uint32_t>& free) {
  if (!free.empty()) {
    const std::uint32_t slot = free.back();
    free.pop_back();
    return slot;
  }
  slots.resize(slots.size() + 1);
  return static_cast<std::uint32_t>(slots.size() - 1);
}

}  // namespace stx
