#include "drivers/kvm/run_state.hpp"

#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "core/fs.hpp"

namespace vbench {

std::optional<ProcessIdentity> process_identity(pid_t pid) {
  const uint64_t start = process_start_time(pid);
  if (start == 0) return std::nullopt;
  return ProcessIdentity{pid, start};
}

bool process_alive(const ProcessIdentity& p) {
  if (p.pid <= 0) return false;
  auto now = process_identity(p.pid);
  return now && now->start_time == p.start_time;
}

std::string to_string(const ProcessIdentity& p) { return fmt::format("{} {}", p.pid, p.start_time); }

std::optional<ProcessIdentity> parse_process_identity(const std::string& text) {
  long long pid = 0;
  unsigned long long start = 0;
  if (std::sscanf(text.c_str(), "%lld %llu", &pid, &start) != 2 || pid <= 0) return std::nullopt;
  return ProcessIdentity{static_cast<pid_t>(pid), start};
}

std::string file_safe(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return out.empty() ? "_" : out;
}

Result<RunState> RunState::create(const std::string& run_id, const std::string& env) {
  RunState s;
  s.dir_ = fmt::format("{}/{}/kvm-{}", kRunStateRoot, file_safe(run_id), file_safe(env));
  if (auto r = mkdir_p(s.dir_, 0700); !r) return r.error().context("run state");
  auto self = process_identity(::getpid());
  if (!self) return make_error("run state: cannot read /proc/self/stat");
  if (auto r = s.record("owner", to_string(*self)); !r) return r.error();
  return s;
}

Status RunState::record(const std::string& key, const std::string& value) const {
  if (auto r = write_file_atomic(path(key), value + "\n"); !r) return r.error().context("run state");
  return {};
}

void RunState::remove() const {
  if (dir_.empty()) return;
  (void)remove_tree(dir_);
  // The run directory may be shared with other drivers: only an empty one goes.
  ::rmdir(dir_.substr(0, dir_.rfind('/')).c_str());
}

}  // namespace vbench
