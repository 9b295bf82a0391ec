// The harness's end of the protocol: whatever an agent in a container or a
// guest writes back, read through the real AgentChannel (hello, then a run).
#include <sys/socket.h>

#include "drivers/agent_channel.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 100000) return 0;  // one socket buffer: the write below must not block
  const std::string text = vbfuzz::text(data, size);
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
  int bufsize = 1 << 20;
  ::setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  vbench::UniqueFd agent(sv[1]);
  if (!vbench::write_all(agent.get(), text.data(), text.size())) std::abort();
  ::shutdown(agent.get(), SHUT_WR);  // then EOF: every wait ends
  vbench::AgentChannel ch{vbench::UniqueFd(sv[0])};
  (void)ch.hello(0.2);
  vbench::WorkloadRequest req;
  req.workload = "cpu.int";
  req.params = {{"threads", 1}, {"duration", 0.1}};
  req.counters = {"task-clock"};
  req.timeout_s = 0.2;
  (void)ch.run(req, "/scratch", "");
  return 0;
}
