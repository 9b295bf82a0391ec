#include "drivers/container/state.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "core/json.hpp"

namespace vbench {

std::string container_state_dir() { return "/run/vbench/containers"; }
std::string record_path(const std::string& instance) { return container_state_dir() + "/" + instance + ".json"; }
std::string root_mount_dir(const std::string& instance) { return container_state_dir() + "/" + instance + ".root"; }

Status write_record(const ContainerRecord& r) {
  if (auto s = mkdir_p(container_state_dir(), 0700); !s) return s;
  nlohmann::json j = {{"instance", r.instance},     {"run_id", r.run_id},           {"env", r.env},
                      {"owner_pid", r.owner_pid},   {"owner_start", r.owner_start}, {"cgroup_dirs", r.cgroup_dirs},
                      {"host_links", r.host_links}, {"overlay_dir", r.overlay_dir}, {"rootfs_dir", r.rootfs_dir}};
  return write_file_atomic(record_path(r.instance), j.dump(2) + "\n");
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
    r.owner_pid = j.at("owner_pid").get<pid_t>();
    r.owner_start = j.at("owner_start").get<uint64_t>();
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

Status remove_record(const std::string& instance) {
  if (::unlink(record_path(instance).c_str()) != 0 && errno != ENOENT)
    return sys_error(fmt::format("remove `{}`", record_path(instance)));
  return {};
}

bool owner_alive(const ContainerRecord& rec) {
  if (rec.owner_pid <= 0) return false;
  const uint64_t start = process_start_time(rec.owner_pid);
  return start != 0 && start == rec.owner_start;
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
