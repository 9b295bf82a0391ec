#include "core/clock.hpp"

#include <fmt/format.h>
#include <sys/time.h>

namespace vbench {

std::string utc_timestamp(bool millis) {
  timeval tv;
  gettimeofday(&tv, nullptr);
  tm t;
  gmtime_r(&tv.tv_sec, &t);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  if (millis) return fmt::format("{}.{:03d}Z", buf, static_cast<int>(tv.tv_usec / 1000));
  return std::string(buf) + "Z";
}

std::string utc_compact_timestamp() {
  time_t now = time(nullptr);
  tm t;
  gmtime_r(&now, &t);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &t);
  return buf;
}

}  // namespace vbench
