#pragma once
// The measured kernels of the mem.* workloads: plain functions over memory
// the caller prepared, no allocation, no clock, no system calls; compiled
// `noipa` so the compiler can neither inline them into the timing loop nor
// prove them free of effects.
#include <cstddef>
#include <cstdint>

#include "workloads/noipa.hpp"

namespace vbench {

// STREAM's four kernels over elements [0, n) (McCalpin's definitions).
void stream_copy(double* c, const double* a, size_t n);                                   // c = a
void stream_scale(double* b, const double* c, double scalar, size_t n);                   // b = s*c
void stream_add(double* c, const double* a, const double* b, size_t n);                   // c = a+b
void stream_triad(double* a, const double* b, const double* c, double scalar, size_t n);  // a = b+s*c

// Links `slots` slots of slot_bytes each at base into one random cycle
// (Sattolo's algorithm, deterministic for a seed): the first word of every
// slot points to the next slot of the cycle. order must have room for
// `slots` entries; slots must be <= 2^32.
void link_random_cycle(void* base, size_t slots, size_t slot_bytes, uint32_t* order, uint64_t seed);

// Follows the chain of pointers starting at p for `loads` dependent loads
// and returns where it stopped.
const void* pointer_chase(const void* p, uint64_t loads);

// Writes one byte at the start of every `stride` bytes of [p, p + len): with
// stride = the page size on fresh anonymous memory, one first-touch fault
// per page.
void touch_pages(unsigned char* p, size_t len, size_t stride);

}  // namespace vbench
