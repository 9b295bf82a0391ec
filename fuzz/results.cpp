// results.json / results.jsonl as `vbench report`, `compare` and `history add`
// read them: any bytes, from anyone.
#include "model/results.hpp"

#include "analysis/summary.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = vbfuzz::text(data, size);
  if (!vbfuzz::json_nesting_within(text)) return 0;  // stopgap, see fuzz_support.hpp
  auto rs = vbench::parse_results(text, "fuzz/results.json");
  // What report does next with a file it accepted.
  if (rs) (void)vbench::summarize_run(*rs, rs->meta.baseline_env, rs->meta.seed);
  return 0;
}
