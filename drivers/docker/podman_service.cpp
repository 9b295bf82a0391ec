#include "drivers/docker/podman_service.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "drivers/docker/http_unix.hpp"
#include "drivers/kvm/host_command.hpp"

namespace vbench {

PodmanService& PodmanService::operator=(PodmanService&& o) noexcept {
  if (this != &o) {
    stop();
    pid_ = o.pid_;
    socket_ = std::move(o.socket_);
    o.pid_ = -1;
  }
  return *this;
}

Result<PodmanService> PodmanService::start(const std::string& socket, const std::string& runtime,
                                           const std::string& log, double timeout_s) {
  const std::string podman = find_program("podman");
  if (podman.empty()) return make_error("podman is not installed");
  std::vector<std::string> args = {podman};
  if (!runtime.empty()) args.insert(args.end(), {"--runtime", runtime});
  args.insert(args.end(), {"system", "service", "--time=0", "unix://" + socket});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::unlink(socket.c_str());
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork for podman system service");
  if (pid == 0) {
    // Ends with vbench, whatever kills it. (PDEATHSIG follows the forking
    // thread: sessions are started by the scheduler's main thread.)
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) _exit(127);
    int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (in >= 0) ::dup2(in, 0);
    if (out >= 0) ::dup2(out, 1), ::dup2(out, 2);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  PodmanService svc;
  svc.pid_ = pid;
  svc.socket_ = socket;
  UnixHttpClient api(socket);
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
  while (now_ns() < deadline) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      svc.pid_ = -1;
      auto text = read_file(log, 1 << 20);
      std::string tail = text ? *text : "";
      if (tail.size() > 600) tail = tail.substr(tail.size() - 600);
      while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
      return make_error(
          "`podman system service` exited ({}): {}",
          WIFEXITED(st) ? fmt::format("status {}", WEXITSTATUS(st)) : fmt::format("signal {}", WTERMSIG(st)),
          tail.empty() ? "(no output)" : tail);
    }
    if (path_exists(socket) && api.call("GET", "/v1.41/_ping", nullptr, 2).ok()) return svc;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return make_error("`podman system service` did not answer on `{}` within {:.0f} s", socket, timeout_s);
}

void PodmanService::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int st;
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }
  if (!socket_.empty()) ::unlink(socket_.c_str());
}

}  // namespace vbench
