#include "drivers/kvm/host_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "core/clock.hpp"
#include "core/deadline.hpp"
#include "core/fs.hpp"

namespace vbench {

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : std::string();
  std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
  dirs += ":/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) colon = dirs.size();
    std::string dir = dirs.substr(start, colon - start);
    start = colon + 1;
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

Result<std::string> run_capture(const std::vector<std::string>& argv, double timeout_s, size_t max_bytes) {
  if (argv.empty()) return make_error("run: empty command");
  const std::string exe = find_program(argv[0]);
  if (exe.empty()) return make_error("`{}` not found on PATH, /usr/sbin or /sbin", argv[0]);
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return sys_error("pipe");
  if (pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return sys_error("pipe");
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execv(exe.c_str(), args.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  UniqueFd ofd(out[0]), efd(err[0]);
  if (pid < 0) return sys_error(fmt::format("fork for `{}`", argv[0]));
  std::string stdout_data, stderr_data;
  bool too_much = false, timed_out = false;
  const uint64_t deadline = deadline_after_s(timeout_s);
  while (ofd || efd) {
    pollfd p[2] = {{ofd.get(), POLLIN, 0}, {efd.get(), POLLIN, 0}};
    if (now_ns() > deadline) {
      timed_out = true;
      break;
    }
    int rc = poll(p, 2, 200);
    if (rc < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t n = ::read(p[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        (i == 0 ? ofd : efd).reset();
        continue;
      }
      std::string& dst = i == 0 ? stdout_data : stderr_data;
      if (i == 1 && dst.size() > 65536) continue;  // keep the start of stderr only
      dst.append(buf, static_cast<size_t>(n));
    }
    if (stdout_data.size() > max_bytes) {
      too_much = true;
      break;
    }
  }
  if (timed_out || too_much) ::kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string cmd = argv[0];
  for (size_t i = 1; i < argv.size(); ++i) cmd += " " + argv[i];
  if (timed_out) return make_error("`{}` did not finish within {:.0f} s", cmd, timeout_s);
  if (too_much) return make_error("`{}` wrote more than {} bytes", cmd, max_bytes);
  while (!stderr_data.empty() && (stderr_data.back() == '\n' || stderr_data.back() == ' ')) stderr_data.pop_back();
  if (WIFSIGNALED(status)) return make_error("`{}` killed by signal {}", cmd, WTERMSIG(status));
  if (WEXITSTATUS(status) == 127 && stderr_data.empty()) return make_error("`{}`: could not execute {}", cmd, exe);
  if (WEXITSTATUS(status) != 0)
    return make_error("`{}` exited with status {}{}{}", cmd, WEXITSTATUS(status), stderr_data.empty() ? "" : ": ",
                      stderr_data);
  return stdout_data;
}

}  // namespace vbench
