#pragma once
// Deadlines for waits on untrusted peers (agents, guests, QEMU): computed
// once per exchange, saturating, so that no timeout a user or a peer can
// influence wraps into a deadline in the past.
#include <cstdint>

#include "core/clock.hpp"

namespace vbench {

// now_ns() + seconds, saturating at UINT64_MAX; negative or NaN means "now".
inline uint64_t deadline_after_s(double seconds) {
  const uint64_t now = now_ns();
  if (!(seconds > 0)) return now;
  const double ns = seconds * 1e9;
  if (ns >= static_cast<double>(UINT64_MAX - now)) return UINT64_MAX;
  return now + static_cast<uint64_t>(ns);
}

}  // namespace vbench
