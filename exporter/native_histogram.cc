#include "exporter/native_histogram.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace stx {
namespace {

// The bucket of a schema-3 bucket `i` at a schema `k` steps coarser: ceil(i / 2^k), as bucket
// j at schema s - 1 is buckets 2j - 1 and 2j at schema s.
std::int32_t coarser(std::int32_t i, int k) {
  return static_cast<std::int32_t>((static_cast<std::int64_t>(i) + (std::int64_t{1} << k) - 1) >>
                                   k);
}

// Upper bounds of the 8 schema-3 buckets within one power of two, scaled to [0.5, 1): the
// mantissa std::frexp returns.
const std::array<double, 8> kBounds = [] {
  std::array<double, 8> b{};
  for (std::size_t j = 0; j < b.size(); ++j) b[j] = std::exp2(static_cast<double>(j) / 8 - 1);
  return b;
}();

void bump(std::atomic<std::uint32_t>& c) {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

std::int32_t native_bucket_index(double v, int schema) {
  int exp = 0;
  const double frac = std::frexp(v, &exp);  // v = frac * 2^exp, frac in [0.5, 1)
  const auto j = std::lower_bound(kBounds.begin(), kBounds.end(), frac) - kBounds.begin();
  const auto at3 = static_cast<std::int32_t>(j + static_cast<std::ptrdiff_t>(exp - 1) * 8);
  return coarser(at3, kNativeSchema - std::clamp(schema, kNativeMinSchema, kNativeSchema));
}

void NativeHistogram::observe(double v, std::mutex& mu) {
  if (!(v > kNativeZeroThreshold) || !std::isfinite(v)) {
    zero_.store(zero_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return;
  }
  const std::int32_t at3 = native_bucket_index(v, kNativeSchema);
  std::int32_t i = coarser(at3, kNativeSchema - schema_);
  if (size_ == 0 || i < first_ || i >= first_ + static_cast<std::int32_t>(size_)) {
    i = grow(at3, mu);
  }
  bump(counts_[static_cast<std::size_t>(i - first_)]);
}

std::int32_t NativeHistogram::grow(std::int32_t at3, std::mutex& mu) {
  constexpr auto kCap = static_cast<std::int64_t>(kNativeMaxBuckets);
  constexpr std::int64_t kSlack = 2;
  const std::int64_t old_last = first_ + static_cast<std::int64_t>(size_) - 1;
  int schema = schema_;
  std::int64_t i = 0, lo = 0, hi = 0;
  for (;; --schema) {
    const int k = schema_ - schema;  // merges of the buckets held now
    i = coarser(at3, kNativeSchema - schema);
    lo = size_ == 0 ? i : std::min<std::int64_t>(coarser(first_, k), i);
    hi =
        size_ == 0 ? i : std::max<std::int64_t>(coarser(static_cast<std::int32_t>(old_last), k), i);
    // At schema -4 every finite double fits 131 buckets.
    if (hi - lo < kCap || schema == kNativeMinSchema) break;
  }
  // Room beyond the new bucket, on the side it widened, so the next extreme fits as it is.
  if (i == lo) lo = std::max(lo - kSlack, hi - kCap + 1);
  if (i == hi) hi = std::min(hi + kSlack, lo + kCap - 1);
  const auto n = static_cast<std::size_t>(hi - lo + 1);
  auto counts = std::make_unique<std::atomic<std::uint32_t>[]>(n);
  const int k = schema_ - schema;
  for (std::size_t j = 0; j < size_; ++j) {
    auto& to =
        counts[static_cast<std::size_t>(coarser(first_ + static_cast<std::int32_t>(j), k) - lo)];
    to.store(to.load(std::memory_order_relaxed) + counts_[j].load(std::memory_order_relaxed),
             std::memory_order_relaxed);
  }
  {
    std::lock_guard lock(mu);
    counts_.swap(counts);
    first_ = static_cast<std::int32_t>(lo);
    size_ = static_cast<std::uint16_t>(n);
    schema_ = static_cast<std::int16_t>(schema);
  }
  return static_cast<std::int32_t>(i);
}

}  // namespace stx
