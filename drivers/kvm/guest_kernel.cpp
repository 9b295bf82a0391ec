#include "drivers/kvm/guest_kernel.hpp"

#include <elf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>

#include "core/fs.hpp"
#include "drivers/kvm/host_command.hpp"

namespace vbench {
namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_module_file(const std::string& filename) {
  for (const char* ext : {".ko", ".ko.xz", ".ko.zst", ".ko.gz"})
    if (ends_with(filename, ext)) return true;
  return false;
}

// The module's plain ELF bytes, decompressing with the matching host tool.
Result<std::string> load_module_file(const std::string& path) {
  if (ends_with(path, ".ko")) return read_file(path);
  const char* tool = ends_with(path, ".xz") ? "xz" : ends_with(path, ".zst") ? "zstd" : "gzip";
  auto data = run_capture({tool, "-dc", path});
  if (!data) return data.error().context(fmt::format("decompress module `{}` (needs the `{}` tool)", path, tool));
  return data;
}

std::string dirname_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Resolves `drivers` of the kernel at `image` into built-ins and modules.
Result<GuestKernel> resolve_kernel(const std::string& image, const std::string& origin, const std::string& modules_knob,
                                   const std::vector<std::string>& drivers) {
  if (::access(image.c_str(), R_OK) != 0) return sys_error(fmt::format("guest kernel `{}`", image));
  GuestKernel k;
  k.image = image;
  k.origin = origin;
  auto version = bzimage_version(image);
  if (!version) return version.error();
  k.version = *version;

  std::vector<std::string> candidates;
  if (!modules_knob.empty()) candidates.push_back(modules_knob);
  candidates.push_back("/lib/modules/" + k.version);
  candidates.push_back(dirname_of(image) + "/../lib/modules/" + k.version);
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_directory(c, ec)) {
      k.modules_dir = fs::weakly_canonical(c, ec).string();
      break;
    }
    if (&c == &candidates.front() && !modules_knob.empty())
      return make_error("kernel_modules `{}`: not a directory", modules_knob);
  }

  if (k.modules_dir.empty()) {
    // No module tree: the drivers must be built in. The kernel config, where
    // one lies next to the image, says whether they are.
    std::string config;
    for (const auto& c : {"/boot/config-" + k.version, dirname_of(image) + "/config-" + k.version})
      if (auto r = read_file(c)) {
        config = *r;
        break;
      }
    for (const auto& d : drivers) {
      std::string sym = "CONFIG_" + d;
      std::transform(sym.begin(), sym.end(), sym.begin(), ::toupper);
      if (config.empty()) {
        k.builtin.push_back(d);
        continue;
      }
      if (config.find("\n" + sym + "=y") != std::string::npos)
        k.builtin.push_back(d);
      else if (config.find("\n" + sym + "=m") != std::string::npos)
        return make_error(
            "guest kernel {} ({}): {} is a module, but there is no module tree (/lib/modules/{}); "
            "fix: set kernel_modules = \"/path/to/lib/modules/{}\"",
            k.version, image, d, k.version, k.version);
      else
        return make_error(
            "guest kernel {} ({}) lacks the {} driver ({} is not set); fix: use a kernel with "
            "virtio drivers, e.g. the Debian cloud kernel ci/bootstrap installs",
            k.version, image, d, sym);
    }
    if (config.empty())
      k.note = fmt::format("no module tree or config for {}: assuming its virtio drivers are built in", k.version);
    return k;
  }

  std::set<std::string> builtin;
  if (auto text = read_file(k.modules_dir + "/modules.builtin")) {
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) builtin.insert(module_name_of_file(line.substr(line.rfind('/') + 1)));
  }
  std::map<std::string, std::string> files;  // module name -> path
  std::error_code ec;
  for (fs::recursive_directory_iterator it(k.modules_dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string fname = it->path().filename().string();
    if (is_module_file(fname)) files.emplace(module_name_of_file(fname), it->path().string());
  }
  if (ec) return sys_error(fmt::format("walk module tree `{}`", k.modules_dir), ec.value());

  // Depth-first, dependencies before their users; `visiting` catches cycles.
  std::set<std::string> done, visiting;
  std::function<Status(const std::string&, const std::string&)> visit = [&](const std::string& name,
                                                                            const std::string& needed_by) -> Status {
    if (done.count(name)) return {};
    if (builtin.count(name)) {
      if (std::find(drivers.begin(), drivers.end(), name) != drivers.end()) k.builtin.push_back(name);
      done.insert(name);
      return {};
    }
    if (visiting.count(name)) return make_error("module dependency cycle through {}", name);
    auto f = files.find(name);
    if (f == files.end())
      return make_error(
          "guest kernel {} ({}) lacks {}{}: neither built in (modules.builtin) nor a module under "
          "`{}`; fix: use a kernel with virtio drivers, e.g. the Debian cloud kernel ci/bootstrap "
          "installs",
          k.version, image, name, needed_by.empty() ? "" : " (needed by " + needed_by + ")", k.modules_dir);
    visiting.insert(name);
    auto data = load_module_file(f->second);
    if (!data) return data.error();
    auto info = read_modinfo(*data);
    if (!info) return info.error().context(fmt::format("module `{}`", f->second));
    if (auto vm = info->find("vermagic"); vm != info->end()) {
      const std::string magic = vm->second.substr(0, vm->second.find(' '));
      if (magic != k.version)
        return make_error("module `{}` is for kernel {}, not {}: the module tree does not match the kernel image",
                          f->second, magic, k.version);
    }
    if (auto dep = info->find("depends"); dep != info->end()) {
      std::istringstream in(dep->second);
      for (std::string d; std::getline(in, d, ',');)
        if (!d.empty())
          if (auto s = visit(module_name_of_file(d), name); !s) return s;
    }
    visiting.erase(name);
    done.insert(name);
    k.modules.push_back(GuestModule{name, f->second, std::move(*data)});
    return {};
  };
  for (const auto& d : drivers)
    if (auto s = visit(d, ""); !s) return s.error();
  return k;
}

}  // namespace

std::vector<std::string> guest_drivers(Machine machine) {
  return {machine == Machine::Microvm ? "virtio_mmio" : "virtio_pci", "virtio_blk", "virtio_net", "virtio_console"};
}

std::string module_name_of_file(const std::string& filename) {
  std::string name = filename.substr(0, filename.find(".ko"));
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

Result<std::string> bzimage_version(const std::string& path) {
  auto head = read_file(path, 256 << 20);
  if (!head) return head.error().context("guest kernel");
  const std::string& b = *head;
  // Boot protocol setup header: "HdrS" at 0x202, and at 0x20e the offset
  // (from 0x200) of a NUL-terminated version string "6.1.0-... (builder) #1 ...".
  if (b.size() < 0x210 || b.compare(0x202, 4, "HdrS") != 0)
    return make_error("guest kernel `{}` is not a bzImage (no \"HdrS\" setup header)", path);
  const size_t off = 0x200 + (static_cast<uint8_t>(b[0x20e]) | (static_cast<uint8_t>(b[0x20f]) << 8));
  if (off >= b.size()) return make_error("guest kernel `{}`: version offset past the end", path);
  size_t end = b.find_first_of(std::string(" \0", 2), off);
  if (end == std::string::npos || end == off || end - off > 128)
    return make_error("guest kernel `{}`: no version string in the setup header", path);
  return b.substr(off, end - off);
}

Result<std::multimap<std::string, std::string>> read_modinfo(const std::string& elf) {
  // Every offset read from the file is bounds-checked: a module tree is input.
  if (elf.size() < sizeof(Elf64_Ehdr) || std::memcmp(elf.data(), ELFMAG, SELFMAG) != 0)
    return make_error("not an ELF file");
  Elf64_Ehdr eh;
  std::memcpy(&eh, elf.data(), sizeof eh);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return make_error("not a 64-bit little-endian ELF object");
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > elf.size() ||
      eh.e_shnum > (elf.size() - eh.e_shoff) / sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum)
    return make_error("ELF section headers out of bounds");
  auto section = [&](size_t i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, elf.data() + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof sh);
    return sh;
  };
  const Elf64_Shdr names = section(eh.e_shstrndx);
  if (names.sh_offset > elf.size() || names.sh_size > elf.size() - names.sh_offset)
    return make_error("ELF section name table out of bounds");
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    const Elf64_Shdr sh = section(i);
    if (sh.sh_name >= names.sh_size) continue;
    const char* name = elf.data() + names.sh_offset + sh.sh_name;
    const size_t max_len = names.sh_size - sh.sh_name;
    if (strnlen(name, max_len) == max_len || std::strcmp(name, ".modinfo") != 0) continue;
    if (sh.sh_offset > elf.size() || sh.sh_size > elf.size() - sh.sh_offset)
      return make_error(".modinfo section out of bounds");
    std::multimap<std::string, std::string> fields;
    const std::string body = elf.substr(sh.sh_offset, sh.sh_size);
    size_t pos = 0;
    while (pos < body.size()) {
      size_t nul = body.find('\0', pos);
      if (nul == std::string::npos) nul = body.size();
      const std::string field = body.substr(pos, nul - pos);
      pos = nul + 1;
      const size_t eq = field.find('=');
      if (eq != std::string::npos && eq > 0) fields.emplace(field.substr(0, eq), field.substr(eq + 1));
    }
    return fields;
  }
  return make_error("no .modinfo section (not a kernel module)");
}

Result<GuestKernel> find_guest_kernel(const std::string& kernel, const std::string& modules_dir,
                                      const std::vector<std::string>& drivers) {
  if (!kernel.empty()) {
    auto k = resolve_kernel(kernel, "suite knob `kernel`", modules_dir, drivers);
    if (!k) return k.error();
    return k;
  }
  std::string note;
  utsname u{};
  uname(&u);
  const std::string host_image = fmt::format("/boot/vmlinuz-{}", u.release);
  if (::access(host_image.c_str(), R_OK) == 0) {
    auto k = resolve_kernel(host_image, "host /boot", modules_dir, drivers);
    if (k) return k;
    note = fmt::format("host kernel not used: {}", k.error().message);
  } else {
    note = fmt::format("host kernel not used: `{}`: {}", host_image, std::strerror(errno));
  }
  // The bootstrap tree: the newest boot/vmlinuz-* wins.
  std::vector<std::string> images;
  std::error_code ec;
  for (fs::directory_iterator it(std::string(kGuestKernelCacheDir) + "/boot", ec), end; !ec && it != end;
       it.increment(ec))
    if (it->path().filename().string().rfind("vmlinuz-", 0) == 0) images.push_back(it->path().string());
  if (images.empty())
    return make_error(
        "no guest kernel: {}; and none under {}/boot; fix: run ci/bootstrap (it fetches the Debian "
        "cloud kernel), or set kernel = \"/path/to/vmlinuz\" in the kvm environment",
        note, kGuestKernelCacheDir);
  std::sort(images.begin(), images.end(),
            [](const std::string& a, const std::string& b) { return strverscmp(a.c_str(), b.c_str()) > 0; });
  auto k = resolve_kernel(images.front(), "ci/bootstrap", modules_dir, drivers);
  if (!k) return k.error().context(note);
  k->note = note;
  return k;
}

}  // namespace vbench
