#pragma once
// The measured kernels of the cpu.* workloads: plain functions over memory
// the caller prepared, no allocation, no clock, no system calls. They are
// compiled `noipa`: the compiler may neither inline them into the timing loop
// nor prove them free of effects, so what is timed is exactly their body.
#include <cstddef>
#include <cstdint>

#include "workloads/noipa.hpp"

namespace vbench {

// XXH64 (Yann Collet's xxHash, 64-bit variant) of len bytes at data.
uint64_t xxh64(const void* data, size_t len, uint64_t seed);

// cpu.int's kernel. Hashes `count` blocks of block_size bytes with XXH64,
// cycling through the nblocks blocks at buf; each digest is the seed of the
// next hash, so no hash can be skipped or hoisted. Returns the last digest.
uint64_t xxh64_block_chain(const unsigned char* buf, size_t block_size, size_t nblocks, uint64_t count, uint64_t seed);

// cpu.fp's kernel. C += A * B for n x n row-major double matrices, in
// cache-sized tiles: 2 * n^3 floating-point operations (n^3 multiplies,
// n^3 adds).
void dgemm_tiled(const double* a, const double* b, double* c, int n);

}  // namespace vbench
