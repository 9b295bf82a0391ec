#pragma once
// The one clock workloads and the harness read: CLOCK_MONOTONIC in
// nanoseconds (served from the vDSO, also in the static agent).
#include <cstdint>
#include <ctime>
#include <string>

namespace vbench {

inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline double now_s() { return static_cast<double>(now_ns()) / 1e9; }

// "2026-11-21T21:27:23Z" (or with millisecond precision).
std::string utc_timestamp(bool millis = false);
// "20261121T212723Z", safe in file names.
std::string utc_compact_timestamp();

}  // namespace vbench
