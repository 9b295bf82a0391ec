#pragma once
// VBENCH_NOIPA on a measured kernel: the compiler may neither inline it into
// the timing loop nor use what it knows of its body at the call (GCC's
// noipa). Clang has no noipa; noinline is its nearest. Clang may still infer
// facts such as "does not throw" across the call, which cannot remove the
// work: every kernel's result or stores are used by its caller.
#if defined(__clang__)
#define VBENCH_NOIPA __attribute__((noinline))
#else
#define VBENCH_NOIPA __attribute__((noipa))
#endif
