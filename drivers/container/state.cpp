#include "drivers/container/state.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "core/json.hpp"

namespace vbench {

std::string legacy_container_state_dir() { return std::string(kRunStateRoot) + "/containers"; }

Status write_record(const EnvState& state, const ContainerRecord& r) {
  auto owner = state.owner();
  if (!owner) return owner.error().context("state");
  nlohmann::json j = {{"instance", r.instance},
                      {"run_id", r.run_id},
                      {"env", r.env},
                      {"owner_pid", owner->pid},
                      {"owner_start", owner->start_time},
                      {"cgroup_dirs", r.cgroup_dirs},
                      {"host_links", r.host_links},
                      {"overlay_dir", r.overlay_dir},
                      {"rootfs_dir", r.rootfs_dir}};
  if (auto s = write_file_atomic(state.path(kContainerRecord), j.dump(2) + "\n"); !s) return s.error().context("state");
  const std::string link = legacy_container_state_dir() + "/" + r.instance + ".json";
  ::unlink(link.c_str());  // a dangling one of a run with this id that died
  // Twice: a cleanup may remove the directory when it is empty, between the two calls.
  for (int attempt = 0;; ++attempt) {
    if (auto s = mkdir_p(legacy_container_state_dir(), 0700); !s) return s.error().context("state");
    if (::symlink(state.path(kContainerRecord).c_str(), link.c_str()) == 0) return {};
    if (errno != ENOENT || attempt == 1) return sys_error(fmt::format("state: symlink `{}`", link));
  }
}

Status remove_record(const EnvState& state, const std::string& instance) {
  if (!instance.empty()) {
    const std::string link = legacy_container_state_dir() + "/" + instance + ".json";
    // Only our link: a regular file there is an older vbench's record.
    struct stat st {};
    if (::lstat(link.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && ::unlink(link.c_str()) != 0 && errno != ENOENT)
      return sys_error(fmt::format("remove `{}`", link));
  }
  return state.remove();
}

Result<ContainerRecord> read_record(const std::string& path) {
  auto text = read_file(path, 1 << 20);
  if (!text) return text.error();
  auto parsed = parse_json(*text, JsonLimits{1 << 20, 16});
  if (!parsed) return parsed.error().context(fmt::format("`{}`", path));
  const nlohmann::json& j = *parsed;
  if (!j.is_object()) return make_error("`{}`: not a JSON object", path);
  ContainerRecord r;
  try {
    r.instance = j.at("instance").get<std::string>();
    r.run_id = j.value("run_id", "");
    r.env = j.value("env", "");
    if (j.contains("owner_pid")) {
      const auto pid = j.at("owner_pid").get<int64_t>();
      const auto start = j.at("owner_start").get<uint64_t>();
      if (pid <= 0 || pid > (1 << 22)) return make_error("`{}`: owner_pid {} out of range", path, pid);
      r.legacy_owner = ProcessIdentity{static_cast<pid_t>(pid), start};
    }
    r.cgroup_dirs = j.value("cgroup_dirs", std::vector<std::string>{});
    r.host_links = j.value("host_links", std::vector<std::string>{});
    r.overlay_dir = j.value("overlay_dir", "");
    r.rootfs_dir = j.value("rootfs_dir", "");
  } catch (const nlohmann::json::exception& e) {
    return make_error("`{}`: {}", path, e.what());
  }
  if (r.instance.empty() || r.instance != sanitize_name(r.instance)) return make_error("`{}`: bad instance name", path);
  return r;
}

std::string link_name(const std::string& instance, char role) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : instance) {
    h ^= c;
    h *= 16777619u;
  }
  return fmt::format("vb{:07x}{}", h & 0xfffffffu, role);
}

std::string link_alias(const std::string& instance) { return "vbench " + instance; }

std::string instance_of_alias(const std::string& alias) {
  const std::string prefix = "vbench ";
  if (alias.compare(0, prefix.size(), prefix) != 0) return {};
  return alias.substr(prefix.size());
}

std::string sanitize_name(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || (c == '.' && !out.empty());
    out += ok ? c : '_';
  }
  return out.substr(0, 100);
}

}  // namespace vbench
