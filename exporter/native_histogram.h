#pragma once
// A Prometheus native (sparse, exponential) histogram of one series, kept beside its classic
// buckets and served only in the protobuf exposition.
//
// Schema 3: bucket i holds (2^((i-1)/8), 2^(i/8)], a growth factor of 2^(1/8) ≈ 1.09 per
// bucket, the finest schema whose factor stays within client_golang's default
// NativeHistogramBucketFactor of 1.1 (an error under 4.5% on any quantile).
//
// Memory matters here (the goal is 1.5 KB per target at 100k targets), so the counts are one
// dense array of 32-bit cells covering only the lowest to the highest bucket observed so far:
// a target whose RTTs cluster between 20 and 40 ms uses 8 buckets, 32 bytes, on top of the
// 16 bytes of this object and its zero bucket. The array grows (under the scrape's lock) only
// when an RTT falls outside it, two buckets beyond the new one so that a wandering RTT does
// not reallocate at each new extreme. 32-bit counts wrap after 4 billion observations in
// one bucket: 136 years of one probe a second.
//
// Cap: at most kNativeMaxBuckets buckets (client_golang's NativeHistogramMaxBucketNumber
// idea). Past it the resolution halves (schema - 1, neighbouring buckets merged, as
// client_golang does) until the range fits: at schema 3 160 buckets span 2^20, e.g. 10 µs
// to 10 s, so only a target with wild RTTs ever loses resolution, and never memory.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace stx {

inline constexpr int kNativeSchema = 3;
inline constexpr int kNativeMinSchema = -4;  // the coarsest Prometheus accepts
inline constexpr std::size_t kNativeMaxBuckets = 160;
// client_golang's DefNativeHistogramZeroThreshold, 2^-128: only an RTT of 0 lands in the
// zero bucket (the clock cannot measure anything that small).
inline constexpr double kNativeZeroThreshold = 2.938735877055719e-39;

// The index of the bucket holding `v` (> 0, finite) at `schema` (-4..3): the i with
// 2^((i-1)/2^schema) < v <= 2^(i/2^schema).
std::int32_t native_bucket_index(double v, int schema = kNativeSchema);

class NativeHistogram {
 public:
  // One writer thread. `mu` is the lock scrapes hold while they read: taken only when the
  // bucket array has to grow or merge.
  void observe(double v, std::mutex& mu);

  // Readers hold the writer's `mu` (or are the writer).
  int schema() const { return schema_; }
  std::uint64_t zero_count() const { return zero_.load(std::memory_order_relaxed); }
  std::int32_t first_index() const { return first_; }  // of count(0)
  std::size_t size() const { return size_; }
  std::uint64_t count(std::size_t i) const { return counts_[i].load(std::memory_order_relaxed); }

 private:
  // Makes the array cover the bucket of schema-3 index `at3`, merging buckets while the range
  // would exceed the cap; returns that bucket's index at the schema then in force.
  std::int32_t grow(std::int32_t at3, std::mutex& mu);

  std::unique_ptr<std::atomic<std::uint32_t>[]> counts_;
  std::int32_t first_ = 0;
  std::uint16_t size_ = 0;
  std::int16_t schema_ = kNativeSchema;
  std::atomic<std::uint32_t> zero_{0};
};

}  // namespace stx
