#pragma once
// The agent protocol: newline-delimited JSON over any byte stream (pipe,
// socketpair, virtio-serial port). One request per line, one reply per line.
//
//   {"id":1,"op":"hello"}
//     -> {"id":1,"ok":true,"agent":{"version":..,"pid":..,"hostname":..,"kernel":..,"cpus":..}}
//   {"id":2,"op":"run","workload":"cpu.int","params":{"threads":1},
//    "scratch":"/scratch","peer":"198.18.0.1:40000","counters":["task-clock"],"timeout_s":60}
//     -> {"id":2,"ok":true,"sample":{...}}  (a workload that failed is a sample with "ok":false)
//   {"id":3,"op":"list"}      -> {"id":3,"ok":true,"workloads":[...]}
//   {"id":4,"op":"shutdown"}  -> {"id":4,"ok":true}   (then the agent exits)
//
// A line longer than kMaxProtocolLine, nested deeper than kMaxProtocolDepth,
// or one that is not a JSON object, gets an
// error reply (id null when it could not be read) and the agent keeps serving.
#include <atomic>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "core/sample.hpp"

namespace vbench {

constexpr size_t kMaxProtocolLine = 16 * 1024 * 1024;
// Both ends parse every line with at most this nesting (core/json.hpp).
constexpr size_t kMaxProtocolDepth = 64;

struct RunRequest {
  std::string workload;
  nlohmann::json params = nlohmann::json::object();
  std::string scratch;
  std::string peer;
  std::vector<std::string> counters;
  double timeout_s = 0;  // 0 = none
};

// Runs one workload in a forked child (so that a crash or an OOM kill of the
// workload is a failed sample, not a dead agent) and returns its sample.
Sample run_workload_isolated(const RunRequest& req, const std::atomic<bool>* stop);
// Runs one workload in this process (used by the child above and by tests).
Sample run_workload_here(const RunRequest& req, const std::atomic<bool>* stop);

// Serves the protocol on in_fd/out_fd until EOF or "shutdown" (returns 0),
// or until a reply cannot be written (returns 1).
// With `trace`, one line per request received and per reply sent goes to
// stderr (a guest's serial console, logged on the host): when a guest stops
// answering, its console then shows which side of the exchange it reached.
int serve_protocol(int in_fd, int out_fd, bool trace = false);

// Handles one request line and returns the reply line (without newline);
// sets *shutdown when asked to stop.
std::string handle_request_line(const std::string& line, bool* shutdown);
// The fields of a "run" request, checked; the part of handle_request_line
// that reads untrusted bytes and runs nothing (fuzzed by fuzz/agent_request).
Result<RunRequest> parse_run_request(const nlohmann::json& request);

nlohmann::json agent_identity();

}  // namespace vbench
