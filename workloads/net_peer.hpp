#pragma once
// The network peer that net.* workloads talk to (`vbench-agent serve`). It
// runs outside the environment being measured: on the host, bound to the
// host side of the environment's link (loopback for bare).
#include <atomic>
#include <string>

#include "core/error.hpp"

namespace vbench {

struct PeerOptions {
  std::string listen = "127.0.0.1:0";  // ADDR:PORT; port 0 = pick one
  // Called once the sockets are bound, with the actual "ADDR:PORT".
  std::string ready_file;  // if set, the bound address is written here
  bool print_address = true;  // print "listening ADDR:PORT" on stdout once bound
};

// Serves until *stop is set (or forever when stop is null). Returns non-zero on
// a bind/listen failure.
int run_net_peer(const PeerOptions& opt, const std::atomic<bool>* stop);

}  // namespace vbench

namespace vbench {

// A `vbench-agent serve` child process, killed and reaped on destruction.
class PeerProcess {
 public:
  PeerProcess() = default;
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;
  ~PeerProcess() { stop(); }
  // Starts the peer listening on `listen` ("ADDR:0" picks a port) and
  // returns the bound "ADDR:PORT" once it is accepting.
  Result<std::string> start(const std::string& agent_path, const std::string& listen,
                            const std::string& netns_path = "");
  void stop();
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  std::string ready_file_;
};

// Path of the running executable (/proc/self/exe resolved).
std::string self_exe();

}  // namespace vbench
