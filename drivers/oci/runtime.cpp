#include "drivers/oci/runtime.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "drivers/kvm/host_command.hpp"

namespace vbench {

Result<OciRuntime> OciRuntime::find(const std::string& name) {
  OciRuntime rt;
  rt.name = name;
  rt.path = find_program(name);
  if (rt.path.empty()) return make_error("runtime `{}` not found (on PATH, /usr/sbin, /sbin)", name);
  auto v = run_capture({rt.path, "--version"}, 10, 1 << 16);
  if (!v) return v.error().context(fmt::format("runtime `{}`", name));
  rt.version = v->substr(0, v->find('\n'));
  return rt;
}

std::string last_lines(const std::string& text, size_t max_lines) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) lines.push_back(line);
    pos = nl + 1;
  }
  if (lines.size() > max_lines) lines.erase(lines.begin(), lines.end() - static_cast<long>(max_lines));
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "; ") + l;
  if (out.size() > 2000) out = "..." + out.substr(out.size() - 2000);
  return out;
}

Status OciRuntime::exec(const std::vector<std::string>& args, int stdio_fd, const std::string& log_path,
                        double timeout_s) const {
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log) return sys_error(fmt::format("open `{}`", log_path));
  struct stat st {};
  const off_t before = ::fstat(log.get(), &st) == 0 ? st.st_size : 0;
  std::vector<std::string> argv = {path};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork the runtime");
  if (pid == 0) {
    int io = stdio_fd >= 0 ? stdio_fd : ::open("/dev/null", O_RDWR);
    ::dup2(io, 0);
    ::dup2(io, 1);
    ::dup2(log.get(), 2);
    ::execv(cargv[0], cargv.data());
    _exit(127);
  }
  int status = 0;
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
  pid_t r;
  // A fine poll: create/start are timed by the caller, and a runtime takes
  // tens of milliseconds, so 100 us of slack is noise.
  while ((r = ::waitpid(pid, &status, WNOHANG)) == 0 && now_ns() < deadline) ::usleep(100);
  if (r == 0) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return make_error("`{} {}` did not finish within {:.0f} s", name, args.empty() ? "" : args[0], timeout_s);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string said;
  if (auto text = read_file(log_path); text && static_cast<off_t>(text->size()) > before)
    said = last_lines(text->substr(static_cast<size_t>(before)));
  const std::string how = WIFSIGNALED(status) ? fmt::format("killed by signal {}", WTERMSIG(status))
                                              : fmt::format("exit status {}", WEXITSTATUS(status));
  return make_error("`{} {}` failed ({}){}", name, args.empty() ? "" : args[0], how, said.empty() ? "" : ": " + said);
}

}  // namespace vbench
