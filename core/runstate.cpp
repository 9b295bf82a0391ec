#include "core/runstate.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <ctime>

#include "core/fs.hpp"
#include "core/procfs.hpp"

namespace vbench {

namespace {

// An owner file holds two numbers; anything longer is not one.
constexpr size_t kMaxStateLine = 4096;
// How long a state directory may be without a readable owner before it is
// taken for a dead one (a session writes its owner right after mkdir).
constexpr time_t kOwnerGraceSeconds = 60;

// A directory made within the grace period: its owner may not be written yet.
bool young(const std::string& dir) {
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && ::time(nullptr) - st.st_mtime < kOwnerGraceSeconds;
}

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    struct stat st {};
    if (::lstat((dir + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) out.push_back(name);
  }
  ::closedir(d);
  return out;
}

}  // namespace

std::string run_state_dir(const std::string& run_id) { return std::string(kRunStateRoot) + "/" + run_id; }

std::optional<ProcessIdentity> process_identity(pid_t pid, const std::string& proc) {
  if (pid <= 0) return std::nullopt;
  auto st = read_proc_stat(pid, proc);
  // A zombie has finished: only its parent's wait is missing.
  if (!st || st->state == 'Z' || st->state == 'X' || st->start_time == 0) return std::nullopt;
  return ProcessIdentity{pid, st->start_time};
}

bool process_alive(const ProcessIdentity& p, const std::string& proc) {
  if (p.pid <= 0) return false;
  auto now = process_identity(p.pid, proc);
  return now && now->start_time == p.start_time;
}

std::string to_string(const ProcessIdentity& p) { return fmt::format("{} {}", p.pid, p.start_time); }

Result<ProcessIdentity> parse_process_identity(std::string_view text) {
  if (text.size() > kMaxStateLine) return make_error("owner: {} bytes, not \"<pid> <start time>\"", text.size());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  const size_t sp = text.find(' ');
  auto number = [](std::string_view f, uint64_t& out) {
    auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), out);
    return !f.empty() && ec == std::errc() && p == f.data() + f.size();
  };
  uint64_t pid = 0, start = 0;
  if (sp == std::string_view::npos || !number(text.substr(0, sp), pid) || !number(text.substr(sp + 1), start))
    return make_error("owner: `{}` is not \"<pid> <start time>\"", text.substr(0, 64));
  // pid_max is at most 2^22 (PID_MAX_LIMIT).
  if (pid == 0 || pid > (1u << 22)) return make_error("owner: pid {} out of range", pid);
  if (start == 0) return make_error("owner: start time 0");
  return ProcessIdentity{static_cast<pid_t>(pid), start};
}

uint64_t process_start_time(pid_t pid) {
  auto p = process_identity(pid);
  return p ? p->start_time : 0;
}

std::string file_safe(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return out.empty() ? "_" : out;
}

Status register_run(const std::string& run_id) {
  const std::string dir = run_state_dir(run_id);
  if (auto s = mkdir_p(dir, 0700); !s) return s;
  auto self = process_identity(::getpid());
  if (!self) return make_error("run state: cannot read /proc/self/stat");
  return write_file_atomic(dir + "/owner", to_string(*self) + "\n");
}

void unregister_run(const std::string& run_id) {
  const std::string dir = run_state_dir(run_id);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> files;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::lstat((dir + "/" + name).c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) files.push_back(name);
  }
  ::closedir(d);
  for (const auto& f : files) ::unlink((dir + "/" + f).c_str());
  ::rmdir(dir.c_str());  // only if no environment's state is left
}

bool run_is_alive(const std::string& run_id) {
  auto owner = EnvState(run_state_dir(run_id)).owner();
  return owner && process_alive(*owner);
}

std::vector<std::string> dead_runs(const std::string& root, const std::string& proc) {
  std::vector<std::string> out;
  for (const auto& name : subdirs(root)) {
    // Only run directories: probes and older vbench versions keep other state here.
    if (run_id_in(name) != name) continue;
    const std::string dir = root + "/" + name;
    auto owner = EnvState(dir).owner();
    if (owner ? !process_alive(*owner, proc) : !young(dir)) out.push_back(name);
  }
  return out;
}

std::string run_id_in(const std::string& name) {
  for (size_t i = 0; i + 21 <= name.size(); ++i) {
    if (name[i] != 'v' || name[i + 1] != 'b') continue;
    bool ok = true;
    for (size_t k = 2; k < 14 && ok; ++k) ok = std::isdigit(static_cast<unsigned char>(name[i + k])) != 0;
    ok = ok && name[i + 14] == '-';
    for (size_t k = 15; k < 21 && ok; ++k) ok = std::isxdigit(static_cast<unsigned char>(name[i + k])) != 0;
    if (ok) return name.substr(i, 21);
  }
  return {};
}

std::string EnvState::dir_for(const std::string& run_id, const std::string& kind, const std::string& env,
                              const std::string& root) {
  return fmt::format("{}/{}/{}-{}", root, file_safe(run_id), file_safe(kind), file_safe(env));
}

Result<EnvState> EnvState::create(const std::string& run_id, const std::string& kind, const std::string& env, int mode,
                                  const std::string& root) {
  EnvState s(dir_for(run_id, kind, env, root));
  if (auto r = mkdir_p(s.dir_, mode); !r) return r.error().context("run state");
  auto self = process_identity(::getpid());
  if (!self) return make_error("run state: cannot read /proc/self/stat");
  if (auto r = s.record("owner", to_string(*self)); !r) return r.error();
  return s;
}

Status EnvState::record(const std::string& key, const std::string& value) const {
  if (auto r = write_file_atomic(path(key), value + "\n"); !r) return r.error().context("run state");
  return {};
}

Result<std::string> EnvState::read(const std::string& key) const {
  auto text = read_file(path(key), kMaxStateLine);
  if (!text) return text.error();
  return text->substr(0, text->find('\n'));
}

Result<ProcessIdentity> EnvState::owner() const {
  auto text = read("owner");
  if (!text) return text.error();
  auto p = parse_process_identity(*text);
  if (!p) return p.error().context(fmt::format("`{}`", path("owner")));
  return p;
}

Status EnvState::remove() const {
  if (dir_.empty()) return {};
  auto s = remove_tree(dir_);
  // The run directory may be shared with other environments: only an empty one goes.
  ::rmdir(dir_.substr(0, dir_.rfind('/')).c_str());
  return s;
}

std::vector<FoundEnvState> env_states(const std::string& kind, const std::string& root, const std::string& proc) {
  std::vector<FoundEnvState> out;
  for (const auto& run : subdirs(root)) {
    for (const auto& name : subdirs(root + "/" + run)) {
      const size_t dash = name.find('-');
      if (dash == std::string::npos || dash == 0) continue;
      FoundEnvState f;
      f.kind = name.substr(0, dash);
      if (!kind.empty() && f.kind != kind) continue;
      f.run_id = run;
      f.state = EnvState(root + "/" + run + "/" + name);
      if (auto owner = f.state.owner()) {
        f.owner = process_alive(*owner, proc) ? FoundEnvState::Owner::Alive : FoundEnvState::Owner::Dead;
        if (f.owner == FoundEnvState::Owner::Dead) f.why = fmt::format("owner {} is gone", to_string(*owner));
      } else {
        f.owner = young(f.state.dir()) ? FoundEnvState::Owner::Young : FoundEnvState::Owner::Dead;
        f.why = owner.error().message;
      }
      out.push_back(std::move(f));
    }
  }
  return out;
}

std::vector<EnvState> dead_env_states(const std::string& kind, const std::string& root, const std::string& proc) {
  std::vector<EnvState> out;
  for (auto& f : env_states(kind, root, proc))
    if (f.owner == FoundEnvState::Owner::Dead) out.push_back(std::move(f.state));
  return out;
}

}  // namespace vbench
