#pragma once
// gzip for /metrics when the scraper asks for it: zlib's streaming deflate, so a scrape is
// compressed piece by piece as it is written, never held whole.
#include <zlib.h>

#include <memory>
#include <string>
#include <string_view>

#include "exporter/exposition.h"

namespace stx {

// The gzip stream (one member, level 1) of what `in` hands out. Each piece holds what
// deflate has produced from at least one more piece of `in`: deflate keeps the rest of its
// input in its own window (about 256 KiB) until it has a block to emit. Throws
// std::runtime_error if zlib fails.
class GzipSource final : public BodySource {
 public:
  explicit GzipSource(std::unique_ptr<BodySource> in);
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;
  ~GzipSource() override;

  std::string_view next() override;

 private:
  // Deflates what z_ holds as input with `flush`, appending to out_.
  int deflate_into_out(int flush);

  std::unique_ptr<BodySource> in_;
  z_stream z_{};
  std::string out_;
  bool finished_ = false;
};

// The whole gzip member for `data`, through GzipSource.
std::string gzip_compress(std::string_view data);

// True when an Accept-Encoding header value accepts gzip (q > 0).
bool accepts_gzip(std::string_view header);

}  // namespace stx
