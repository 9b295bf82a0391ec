#pragma once
// The harness side of the agent protocol over a pair of descriptors: send a
// request line, wait (bounded) for its reply line, parse strictly. Everything
// an agent sends is untrusted.
#include <atomic>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/sample.hpp"
#include "drivers/driver.hpp"

namespace vbench {

// The static agent a driver's availability trial runs: $VBENCH_AGENT, else
// `vbench-agent` next to the running binary ("" when /proc/self/exe is
// unreadable). Runs give the agent in EnvSpec::agent_path instead.
std::string agent_next_to_self();

class AgentChannel {
 public:
  AgentChannel() = default;
  AgentChannel(UniqueFd in, UniqueFd out) : in_(std::move(in)), out_(std::move(out)) {}
  // For a single bidirectional descriptor (socketpair, unix socket, serial).
  explicit AgentChannel(UniqueFd both);

  // Sends {"op":"hello"} and waits for the reply; returns the agent identity
  // (known fields only, typed and bounded). The first hello records it; a
  // later hello that names another identity is an error.
  Result<nlohmann::json> hello(double timeout_s);
  const nlohmann::json& identity() const { return identity_; }
  // Runs a workload; a reply with ok=false becomes a failed Sample, not an error.
  // So does a sample for another workload or other parameters than asked, or
  // one carrying environment metrics or non-agent counters (only the driver,
  // on the host, may add those). Errors are channel failures (timeout, EOF,
  // garbage). Every wait has one overall deadline.
  Result<Sample> run(const WorkloadRequest& req, const std::string& scratch, const std::string& peer);
  Status shutdown(double timeout_s);
  // Sends a request object (an "id" is added) and returns the reply object.
  Result<nlohmann::json> call(nlohmann::json request, double timeout_s);

  int read_fd() const { return in_.get(); }

  // A flag that, once set (SIGINT/SIGTERM), makes every wait on any channel
  // give up with "interrupted" within 100 ms.
  static void set_interrupt_flag(const std::atomic<bool>* flag);

 private:
  // The next line, waiting until `deadline` (now_ns() clock); timeout_s is
  // the exchange's whole timeout, for the message.
  Result<std::string> read_line(uint64_t deadline, double timeout_s);
  UniqueFd in_, out_;
  int shared_fd_ = -1;  // when in_ and out_ are the same descriptor
  uint64_t next_id_ = 1;
  std::string buf_;
  nlohmann::json identity_;  // null until the first hello
};

}  // namespace vbench
