// Microbenchmarks of the harness's own hot paths: what a timer read, a
// histogram record and a sample append cost. The histogram record must stay
// under 20 ns (it sits inside latency loops).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <random>

#include "core/clock.hpp"
#include "core/histogram.hpp"
#include "core/sample.hpp"
#include "model/results.hpp"

static void BM_TimerRead(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(vbench::now_ns());
}
BENCHMARK(BM_TimerRead);

static void BM_HistogramRecord(benchmark::State& state) {
  vbench::Histogram h;
  // Latency-like values spread over many buckets, precomputed so that the
  // benchmark measures the record, not the generator.
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> dist(9.0, 1.2);
  std::vector<uint64_t> values(4096);
  for (auto& v : values) v = static_cast<uint64_t>(dist(rng));
  size_t i = 0;
  for (auto _ : state) {
    h.record(values[i++ & 4095]);
  }
  benchmark::DoNotOptimize(h.count());
}
BENCHMARK(BM_HistogramRecord);

static void BM_HistogramRecordWithTimer(benchmark::State& state) {
  vbench::Histogram h;
  uint64_t last = vbench::now_ns();
  for (auto _ : state) {
    const uint64_t now = vbench::now_ns();
    h.record(now - last);
    last = now;
  }
  benchmark::DoNotOptimize(h.count());
}
BENCHMARK(BM_HistogramRecordWithTimer);

static void BM_SampleAppend(benchmark::State& state) {
  char dir[] = "/var/tmp/vbench-bench-XXXXXX";
  if (!mkdtemp(dir)) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const std::string path = std::string(dir) + "/results.jsonl";
  auto log = vbench::ResultsLog::open(path);
  vbench::Sample s;
  s.env = "bare";
  s.workload = "disk.randread";
  s.params = {{"qd", 32}, {"bs", 4096}};
  for (const char* m : {"iops", "bandwidth", "lat_p50", "lat_p90", "lat_p99", "lat_p99.9", "lat_max"})
    s.metrics.push_back({m, 12345.678, "us", vbench::Better::Lower});
  vbench::Histogram h;
  for (uint64_t v = 1000; v < 2000000; v = v * 21 / 20) h.record(v);
  s.histograms.emplace("latency", h);
  for (auto _ : state) {
    if (!log->write_sample(s).ok()) {
      state.SkipWithError("append failed");
      break;
    }
  }
  unlink(path.c_str());
  rmdir(dir);
}
BENCHMARK(BM_SampleAppend)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
