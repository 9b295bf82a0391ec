#include <benchmark/benchmark.h>

#include "core/histogram.hpp"

BENCHMARK_MAIN();
