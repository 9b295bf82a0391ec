#include "drivers/kvm/initramfs.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "agent/init.hpp"
#include "core/fs.hpp"
#include "core/sha256.hpp"
#include "drivers/kvm/cpio.hpp"

namespace vbench {
namespace fs = std::filesystem;

namespace {

// Bump when the layout changes, so that old cache entries are not reused.
constexpr const char* kLayoutVersion = "vbench-initramfs-1";

// Keeps the newest kInitramfsCacheKeep entries.
void prune_cache(const std::string& dir) {
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".cpio") entries.emplace_back(it->last_write_time(ec), it->path());
  if (entries.size() <= kInitramfsCacheKeep) return;
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = kInitramfsCacheKeep; i < entries.size(); ++i) fs::remove(entries[i].second, ec);
}

}  // namespace

std::string build_initramfs(const std::string& agent, const std::vector<GuestModule>& modules) {
  CpioWriter w;
  for (const char* d : {"dev", "proc", "sys", "tmp", "scratch", "lib", "lib/modules"}) w.add_directory(d);
  w.add_directory(std::string(kGuestModulesDir).substr(1));
  // The kernel opens /dev/console for init's stdio before devtmpfs is mounted.
  w.add_char_device("dev/console", 5, 1);
  w.add_file("init", agent, 0755);
  std::string order;
  for (const auto& m : modules) {
    w.add_file(std::string(kGuestModulesDir).substr(1) + "/" + m.name + ".ko", m.data);
    order += m.name + "\n";
  }
  w.add_file(std::string(kGuestModulesOrder).substr(1), order);
  return w.finish();
}

Result<Initramfs> ensure_initramfs(const std::string& agent_path, const std::vector<GuestModule>& modules,
                                   const std::string& cache_dir) {
  auto agent = read_file(agent_path, 512 << 20);
  if (!agent) return agent.error().context("initramfs: agent");
  Sha256 h;
  h.update(kLayoutVersion);
  h.update(std::to_string(agent->size()) + "\n");
  h.update(*agent);
  for (const auto& m : modules) {
    h.update("\n" + m.name + " " + std::to_string(m.data.size()) + "\n");
    h.update(m.data);
  }
  Initramfs out;
  out.hash = h.hex_digest();
  out.path = cache_dir + "/" + out.hash + ".cpio";
  struct stat st {};
  if (::stat(out.path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    out.reused = true;
    out.bytes = static_cast<size_t>(st.st_size);
    // Mark it recently used, so that pruning (newest first) keeps it.
    ::utimensat(AT_FDCWD, out.path.c_str(), nullptr, 0);
    return out;
  }
  if (auto s = mkdir_p(cache_dir); !s) return s.error().context("initramfs cache");
  const std::string archive = build_initramfs(*agent, modules);
  if (auto s = write_file_atomic(out.path, archive); !s) return s.error().context("initramfs cache");
  out.bytes = archive.size();
  prune_cache(cache_dir);
  return out;
}

}  // namespace vbench
