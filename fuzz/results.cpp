// results.json / results.jsonl as `vbench report`, `compare` and `history add`
// read them: any bytes, from anyone. A file that loads then goes where
// `report` and `compare` take it: the summary, every report format, and a
// comparison with itself.
#include "model/results.hpp"

#include "analysis/compare.hpp"
#include "analysis/summary.hpp"
#include "fuzz_support.hpp"
#include "reports/compare_formats.hpp"
#include "reports/reports.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = vbfuzz::text(data, size);
  auto rs = vbench::parse_results(text, "fuzz/results.json");
  if (!rs) return 0;
  const auto summary = vbench::summarize_run(*rs, rs->meta.baseline_env, rs->meta.seed);
  (void)vbench::render_table(*rs, summary, true);
  (void)vbench::render_markdown(*rs, summary);
  (void)vbench::render_html(*rs, summary);
  (void)vbench::render_json(*rs, summary);
  (void)vbench::render_summary_csv(summary);
  (void)vbench::render_samples_csv(*rs);
  vbench::CompareOptions opts;
  opts.force = true;
  auto c = vbench::compare_runs(*rs, *rs, opts);
  if (c) {
    (void)vbench::render_compare_table(*c, true);
    (void)vbench::render_compare_markdown(*c);
    (void)vbench::render_compare_junit(*c);
    (void)vbench::render_compare_json(*c);
  }
  return 0;
}
