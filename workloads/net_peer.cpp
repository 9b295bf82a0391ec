#include "workloads/net_peer.hpp"

#include <fmt/format.h>

namespace vbench {

int run_net_peer(const PeerOptions&, const std::atomic<bool>*) {
  fmt::print(stderr, "vbench-agent serve: not built yet\n");
  return 1;
}

}  // namespace vbench

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "core/clock.hpp"
#include "core/fs.hpp"

namespace vbench {

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::string> PeerProcess::start(const std::string& agent_path, const std::string& listen,
                                       const std::string& netns_path) {
  char tmpl[] = "/tmp/vbench-peer-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return sys_error("mkstemp for the peer's ready file");
  ::close(fd);
  ready_file_ = tmpl;
  pid_t pid = fork();
  if (pid < 0) return sys_error("fork the network peer");
  if (pid == 0) {
    if (!netns_path.empty()) {
      // setns(CLONE_NEWNET) assumes netns_path is a network namespace file.
      int ns = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(120);
    }
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) dup2(devnull, 1);
    execl(agent_path.c_str(), agent_path.c_str(), "serve", "--listen", listen.c_str(), "--ready-file",
          ready_file_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  const uint64_t deadline = now_ns() + 5'000'000'000ull;
  while (now_ns() < deadline) {
    auto content = read_line(ready_file_);
    if (content && !content->empty()) return *content;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return make_error("network peer `{} serve --listen {}` exited before listening (status {})", agent_path,
                        listen, status);
    }
    usleep(5000);
  }
  stop();
  return make_error("network peer on {} did not start listening within 5 s", listen);
}

void PeerProcess::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (!ready_file_.empty()) {
    ::unlink(ready_file_.c_str());
    ready_file_.clear();
  }
}

}  // namespace vbench
