#pragma once
#include "drivers/driver.hpp"

namespace vbench {

// Which container engine serves the Docker Engine API.
enum class Engine {
  Docker,  // a running dockerd on its unix socket
  Podman,  // `podman system service`, started by vbench for each run (drivers/docker/podman_service.hpp)
};

// The agent in a container of a Docker daemon or of Podman, driven through
// the Engine API on a unix socket (drivers/docker/http_unix.hpp): the image
// is `docker import` of a tar holding the static agent (no registry, no
// pull), the container runs it as PID 1, and the agent connects back to
// vbench over a unix socket in a bind-mounted directory. Every container,
// image and volume carries the run id in its name and labels with the owning
// vbench process, so that `vbench cleanup` removes what a dead run left.
class DockerDriver : public Driver {
 public:
  explicit DockerDriver(Engine engine = Engine::Docker, std::string socket_path = "/var/run/docker.sock")
      : engine_(engine), socket_(std::move(socket_path)) {}
  std::string name() const override { return engine_ == Engine::Podman ? "podman" : "docker"; }
  std::string description() const override {
    return engine_ == Engine::Podman
               ? "the agent in a Podman container (vbench's own `podman system service`), image imported from the agent"
               : "the agent in a Docker container (Engine API on " + socket_ + "), image imported from the agent";
  }
  Availability probe() const override;
  bool compared_by_default() const override { return false; }
  std::vector<ParamSpec> knobs() const override;
  Result<std::unique_ptr<Session>> start(const EnvSpec& spec) override;
  Status cleanup_stale() override;

 private:
  Engine engine_;
  std::string socket_;  // dockerd's; Podman's sockets are per run
};

}  // namespace vbench
