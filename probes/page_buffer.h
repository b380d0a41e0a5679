#pragma once
// A large buffer of which only some pages are ever touched (the UDP receive slots: 64 KiB
// each, of which an answer fills the first few hundred bytes). It is mapped on its own and
// kept out of transparent huge pages: from the heap, which the shipped unit backs with huge
// pages (glibc.malloc.hugetlb=1), every byte of it would be resident.
#include <cstddef>

namespace stx {

class PageBuffer {
 public:
  explicit PageBuffer(std::size_t bytes);  // zero-filled on first touch; throws on failure
  ~PageBuffer();
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  char* data_ = nullptr;
  std::size_t size_;
};

}  // namespace stx
