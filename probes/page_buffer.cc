#include "probes/page_buffer.h"

#include <sys/mman.h>

#include <cerrno>
#include <system_error>

namespace stx {

PageBuffer::PageBuffer(std::size_t bytes) : size_(bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(), "mmap of a receive buffer");
  }
  // Advice only: a kernel without transparent huge pages refuses it, which is as good.
  madvise(p, bytes, MADV_NOHUGEPAGE);
  data_ = static_cast<char*>(p);
}

PageBuffer::~PageBuffer() { munmap(data_, size_); }

}  // namespace stx
