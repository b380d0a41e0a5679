#include "exporter/gzip.h"

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <utility>

namespace stx {

namespace {

// Output is appended in steps of this size while deflate fills what it was given.
constexpr std::size_t kOutStep = 64 * 1024;
// gzip wrapping (15 window bits + 16), and zlib's default memory level: about 256 KiB of
// state per stream.
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kMemLevel = 8;

}  // namespace

GzipSource::GzipSource(std::unique_ptr<BodySource> in) : in_(std::move(in)) {
  // Level 1: a scrape's text is repetitive enough that more effort buys little (BENCHMARKS.md).
  if (deflateInit2(&z_, 1, Z_DEFLATED, kGzipWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("zlib: cannot start a gzip stream");
  }
}

GzipSource::~GzipSource() { deflateEnd(&z_); }

int GzipSource::deflate_into_out(int flush) {
  int rc = Z_OK;
  do {
    const std::size_t used = out_.size();
    out_.resize(used + kOutStep);
    z_.next_out = reinterpret_cast<Bytef*>(out_.data() + used);
    z_.avail_out = static_cast<uInt>(kOutStep);
    rc = deflate(&z_, flush);
    out_.resize(used + kOutStep - z_.avail_out);
    if (rc == Z_STREAM_ERROR) throw std::runtime_error("zlib: deflate failed");
  } while (z_.avail_out == 0 && rc != Z_STREAM_END);
  return rc;
}

std::string_view GzipSource::next() {
  out_.clear();
  while (out_.empty() && !finished_) {
    const std::string_view piece = in_->next();
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
    z_.avail_in = static_cast<uInt>(piece.size());
    if (piece.empty()) {
      if (deflate_into_out(Z_FINISH) != Z_STREAM_END) {
        throw std::runtime_error("zlib: the gzip stream did not end");
      }
      finished_ = true;
    } else {
      deflate_into_out(Z_NO_FLUSH);
    }
  }
  return out_;
}

std::string gzip_compress(std::string_view data) {
  GzipSource gz(std::make_unique<StringSource>(std::string(data)));
  return read_all(gz);
}

bool accepts_gzip(std::string_view header) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const auto semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    std::string_view params = semi == std::string_view::npos ? "" : item.substr(semi + 1);
    auto trim = [](std::string_view s) {
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
      while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
      return s;
    };
    coding = trim(coding);
    if (coding != "gzip" && coding != "*") continue;
    params = trim(params);
    // "q=0", "q=0.0", "q=0.000" refuse the coding.
    if (params.size() >= 3 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
      std::string_view q = params.substr(2);
      if (q.find_first_not_of("0.") == std::string_view::npos) return false;
    }
    return true;
  }
  return false;
}

}  // namespace stx
