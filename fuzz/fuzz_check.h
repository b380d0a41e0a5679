#pragma once
// Invariant checks for the fuzz targets. Active in every build type (unlike assert), so a
// broken invariant is a crash that libFuzzer records and the replay tests report.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (false)
