#include "core/runstate.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>

#include "core/fs.hpp"
#include "core/procfs.hpp"

namespace vbench {

std::string run_state_dir(const std::string& run_id) { return std::string(kRunStateRoot) + "/" + run_id; }

uint64_t process_start_time(pid_t pid) {
  auto text = read_file(fmt::format("/proc/{}/stat", pid), 1 << 16);
  if (!text) return 0;
  auto st = parse_proc_stat(*text);
  // A zombie has finished: only its parent's wait is missing.
  if (!st || st->state == 'Z' || st->state == 'X') return 0;
  return st->start_time;
}

Status register_run(const std::string& run_id) {
  const std::string dir = run_state_dir(run_id);
  if (auto s = mkdir_p(dir, 0700); !s) return s;
  return write_file_atomic(dir + "/owner", fmt::format("{} {}\n", getpid(), process_start_time(getpid())));
}

void unregister_run(const std::string& run_id) { (void)remove_tree(run_state_dir(run_id)); }

bool run_is_alive(const std::string& run_id) {
  auto owner = read_line(run_state_dir(run_id) + "/owner");
  if (!owner) return false;
  int pid = 0;
  unsigned long long start = 0;
  if (std::sscanf(owner->c_str(), "%d %llu", &pid, &start) != 2 || pid <= 0) return false;
  return process_start_time(pid) == static_cast<uint64_t>(start);
}

std::vector<std::string> dead_runs() {
  std::vector<std::string> out;
  DIR* d = opendir(kRunStateRoot);
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    // Only run directories: drivers keep other state here (containers/).
    if (run_id_in(name) != name) continue;
    if (!run_is_alive(name)) out.push_back(name);
  }
  closedir(d);
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

}  // namespace vbench
