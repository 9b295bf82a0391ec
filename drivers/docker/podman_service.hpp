#pragma once
// Podman has no daemon: its Docker-compatible Engine API is served by
// `podman system service` for as long as that process runs. vbench starts
// its own, on a socket in the run's state directory, with the OCI runtime it
// was asked for (podman takes the runtime per service, not per container:
// the API's HostConfig.Runtime is ignored by podman 4). The service is
// vbench's child with PR_SET_PDEATHSIG, so it cannot outlive a vbench that
// is killed; the containers it made (run by conmon) can, and `vbench
// cleanup` removes them by label through a service of its own.
#include <sys/types.h>

#include <string>

#include "core/error.hpp"

namespace vbench {

class PodmanService {
 public:
  PodmanService() = default;
  PodmanService(const PodmanService&) = delete;
  PodmanService& operator=(const PodmanService&) = delete;
  PodmanService(PodmanService&& o) noexcept { *this = std::move(o); }
  PodmanService& operator=(PodmanService&& o) noexcept;
  ~PodmanService() { stop(); }

  // Starts `podman [--runtime RUNTIME] system service --time=0 unix://SOCKET`
  // (its output to LOG) and waits until the socket answers, at most
  // timeout_s. An empty runtime leaves podman's configured default.
  static Result<PodmanService> start(const std::string& socket, const std::string& runtime, const std::string& log,
                                     double timeout_s = 30);
  void stop();
  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }

 private:
  pid_t pid_ = -1;
  std::string socket_;
};

}  // namespace vbench
