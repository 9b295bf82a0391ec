// The agent's end of the protocol: request lines as a harness (or anything
// that can write to the agent's port) sends them. Requests that would run a
// workload are parsed (parse_run_request) but not run.
#include <nlohmann/json.hpp>

#include "agent/protocol.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string line = vbfuzz::text(data, size);
  if (!vbfuzz::json_nesting_within(line)) return 0;  // stopgap, see fuzz_support.hpp
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("op") && j["op"] == "run") {
    (void)vbench::parse_run_request(j);
    return 0;
  }
  bool shutdown = false;
  (void)vbench::handle_request_line(line, &shutdown);
  return 0;
}
