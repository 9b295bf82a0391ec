#include "workloads/cache_info.hpp"

#include <charconv>
#include <filesystem>
#include <set>
#include <utility>

#include "core/fs.hpp"

namespace vbench {

Result<uint64_t> parse_sysfs_cache_size(const std::string& text) {
  uint64_t n = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || p == text.data()) return make_error("cache size `{}`: not a number", text);
  const std::string suffix(p, end);
  uint64_t mult = 1;
  if (suffix.empty())
    mult = 1;
  else if (suffix == "K")
    mult = 1024;
  else if (suffix == "M")
    mult = 1024 * 1024;
  else if (suffix == "G")
    mult = 1024ull * 1024 * 1024;
  else
    return make_error("cache size `{}`: unknown suffix `{}`", text, suffix);
  return n * mult;
}

Result<std::vector<CacheInstance>> read_cpu_caches(int cpu, const std::string& root) {
  namespace fs = std::filesystem;
  const std::string dir = fmt::format("{}/cpu{}/cache", root, cpu);
  std::vector<CacheInstance> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("index", 0) != 0) continue;
    const std::string base = entry.path().string();
    auto level = read_line(base + "/level");
    auto type = read_line(base + "/type");
    auto size = read_line(base + "/size");
    if (!level || !type || !size) continue;  // an index without a size says nothing usable
    CacheInstance c;
    auto lv = parse_sysfs_cache_size(*level);
    auto sz = parse_sysfs_cache_size(*size);
    if (!lv) return lv.error().context(base + "/level");
    if (!sz) return sz.error().context(base + "/size");
    c.level = static_cast<int>(*lv);
    c.type = *type;
    c.size_bytes = *sz;
    if (auto shared = read_line(base + "/shared_cpu_list"))
      c.shared_cpu_list = *shared;
    else
      c.shared_cpu_list = std::to_string(cpu);
    out.push_back(std::move(c));
  }
  if (ec) return sys_error(fmt::format("list `{}`", dir), ec.value());
  return out;
}

std::optional<uint64_t> last_level_cache_total(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<CacheInstance> all;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 4 || name.rfind("cpu", 0) != 0) continue;
    int cpu = 0;
    auto [p, perr] = std::from_chars(name.data() + 3, name.data() + name.size(), cpu);
    if (perr != std::errc() || p != name.data() + name.size()) continue;  // cpufreq, cpuidle, ...
    auto caches = read_cpu_caches(cpu, root);
    if (!caches) continue;
    for (auto& c : *caches)
      if (c.type != "Instruction" && c.size_bytes > 0) all.push_back(std::move(c));
  }
  if (all.empty()) return std::nullopt;
  int top = 0;
  for (const auto& c : all) top = std::max(top, c.level);
  std::set<std::pair<std::string, std::string>> seen;  // (type, shared_cpu_list)
  uint64_t total = 0;
  for (const auto& c : all)
    if (c.level == top && seen.emplace(c.type, c.shared_cpu_list).second) total += c.size_bytes;
  return total;
}

}  // namespace vbench
