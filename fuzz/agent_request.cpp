// The agent's end of the protocol: request lines as a harness (or anything
// that can write to the agent's port) sends them, parsed the way the agent
// parses them (core/json.hpp, with the protocol's bounds). Requests that
// would run a workload are checked (parse_run_request) but not run; every
// other request goes through handle_request_line as is.
#include "agent/protocol.hpp"
#include "core/json.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string line = vbfuzz::text(data, size);
  auto j = vbench::parse_json(line, vbench::JsonLimits{vbench::kMaxProtocolLine, vbench::kMaxProtocolDepth});
  if (j && j->is_object() && j->contains("op") && (*j)["op"] == "run") {
    (void)vbench::parse_run_request(*j);
    return 0;
  }
  bool shutdown = false;
  (void)vbench::handle_request_line(line, &shutdown);
  return 0;
}
