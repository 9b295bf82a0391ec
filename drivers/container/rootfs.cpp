#include "drivers/container/rootfs.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/fs.hpp"

namespace vbench {
namespace {

Status do_mount(const char* source, const std::string& target, const char* fstype, unsigned long flags,
                const std::string& data = "") {
  if (::mount(source, target.c_str(), fstype, flags, data.empty() ? nullptr : data.c_str()) != 0)
    return sys_error(fmt::format("mount {} on `{}`", fstype ? fstype : (source ? source : "(remount)"), target));
  return {};
}

Status make_dir(const std::string& path, mode_t mode = 0755) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return sys_error(fmt::format("mkdir `{}`", path));
  return {};
}

Status make_file(const std::string& path, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) return sys_error(fmt::format("create `{}`", path));
  ::close(fd);
  return {};
}

// A bind mount is created with its source's flags; remounting it read-only
// must carry the flags a user namespace locks (nosuid, nodev, noexec, atime)
// or the kernel refuses.
Status remount_bind_readonly(const std::string& target) {
  struct statvfs sv;
  if (::statvfs(target.c_str(), &sv) != 0) return sys_error(fmt::format("statvfs `{}`", target));
  unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  // MS_REMOUNT|MS_BIND changes only the per-mount flags of this bind mount.
  return do_mount(nullptr, target, nullptr, flags);
}

Status bind_mount(const std::string& source, const std::string& target) {
  // MS_BIND without MS_REC: the source's own submounts are not wanted.
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return sys_error(fmt::format("bind `{}` on `{}`", source, target));
  return {};
}

Status minimal_dev(const std::string& dev) {
  // tmpfs for /dev: MS_NOEXEC; device nodes come as bind mounts of the
  // host's, which also works inside a user namespace where mknod does not.
  if (auto s = do_mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k"); !s) return s;
  for (const char* n : {"null", "zero", "full", "random", "urandom"}) {
    const std::string target = dev + "/" + n;
    if (auto s = make_file(target, 0666); !s) return s;
    if (auto s = bind_mount(std::string("/dev/") + n, target); !s) return s;
  }
  const std::pair<const char*, const char*> links[] = {{"fd", "/proc/self/fd"},
                                                       {"stdin", "/proc/self/fd/0"},
                                                       {"stdout", "/proc/self/fd/1"},
                                                       {"stderr", "/proc/self/fd/2"}};
  for (const auto& [name, to] : links)
    if (::symlink(to, (dev + "/" + name).c_str()) != 0) return sys_error(fmt::format("symlink `{}/{}`", dev, name));
  if (auto s = make_dir(dev + "/shm", 01777); !s) return s;
  return do_mount("tmpfs", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

}  // namespace

Status prepare_root_lower(const std::string& lower, const std::string& agent_binary) {
  if (auto s = make_dir(lower); !s) return s;
  for (const char* d : {"/proc", "/sys", "/dev", "/tmp", "/.oldroot", "/scratch"})
    if (auto s = make_dir(lower + d); !s) return s;
  if (::chmod((lower + "/tmp").c_str(), 01777) != 0) return sys_error(fmt::format("chmod `{}/tmp`", lower));
  auto agent = read_file(agent_binary, 256u << 20);
  if (!agent) return agent.error().context("the agent for the overlay root");
  const std::string target = lower + kAgentInContainer;
  if (auto s = write_file_atomic(target, *agent); !s) return s;
  if (::chmod(target.c_str(), 0755) != 0) return sys_error(fmt::format("chmod `{}`", target));
  return {};
}

Status assemble_rootfs(const RootfsPlan& p) {
  // Make every mount private first: the host's mounts may be shared, and
  // nothing mounted here may propagate back to the host.
  if (auto s = do_mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE); !s) return s.error().context("make / private");
  const std::string& r = p.root;
  const bool overlay_root = !p.root_lower.empty();
  if (overlay_root) {
    // Docker's layout: the image (lower, read-only) under a writable layer
    // on the host's disk; what the container writes outside its volumes,
    // /tmp included, goes through overlayfs copy-up into the upper layer.
    const std::string opts = fmt::format("lowerdir={},upperdir={},workdir={}", p.root_lower, p.root_upper, p.root_work);
    if (auto s = do_mount("overlay", r, "overlay", MS_NOSUID | MS_NODEV, opts); !s) return s;
  } else {
    // The new root: a small tmpfs (it holds only mount points and small files).
    if (auto s = do_mount("vbench-root", r, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=4m"); !s) return s;
    for (const char* d : {"/proc", "/sys", "/dev", "/tmp", "/.oldroot"})
      if (auto s = make_dir(r + d); !s) return s;
    const std::string agent = r + kAgentInContainer;
    if (auto s = make_file(agent, 0755); !s) return s;
    if (auto s = bind_mount(p.agent_binary, agent); !s) return s;
    if (auto s = remount_bind_readonly(agent); !s) return s;
  }

  // proc for the new pid namespace: this process is its init, so the mount
  // shows the container's processes only.
  if (auto s = do_mount("proc", r + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC); !s) return s;
  // sysfs as seen from the container's network namespace (its own links).
  if (auto s = do_mount("sysfs", r + "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC); !s) return s;
  if (auto s = minimal_dev(r + "/dev"); !s) return s;
  if (!overlay_root)
    if (auto s = do_mount("tmpfs", r + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"); !s) return s;

  if (!p.scratch.empty()) {
    const std::string target = r + kScratchInContainer;
    if (auto s = make_dir(target); !s) return s;
    if (p.scratch_overlay) {
      // overlayfs with an empty lower layer: what the workloads write lands
      // in the upper directory on the scratch filesystem, through overlay's
      // copy-up and whiteout paths like in a container built from an image.
      const std::string lower = r + "/.scratch-lower";
      if (auto s = make_dir(lower); !s) return s;
      const std::string opts =
          fmt::format("lowerdir={},upperdir={},workdir={}", lower, p.overlay_upper, p.overlay_work);
      if (auto s = do_mount("overlay", target, "overlay", MS_NOSUID | MS_NODEV, opts); !s) return s;
    } else {
      if (auto s = bind_mount(p.scratch, target); !s) return s;
    }
  }

  // pivot_root(2) assumes the new root is a mount point (our tmpfs) and that
  // put_old lies under it; there is no glibc wrapper.
  if (::syscall(SYS_pivot_root, r.c_str(), (r + "/.oldroot").c_str()) != 0)
    return sys_error(fmt::format("pivot_root into `{}`", r));
  if (::chdir("/") != 0) return sys_error("chdir / in the new root");
  // MNT_DETACH: the old root (the host's tree) is cut off at once even
  // though mounts below it are busy elsewhere.
  if (::umount2("/.oldroot", MNT_DETACH) != 0) return sys_error("detach the old root");
  if (::rmdir("/.oldroot") != 0) return sys_error("rmdir /.oldroot");
  if (overlay_root) return {};  // writable, like a Docker container's root
  // The root itself read-only: the workloads write to /tmp, /dev/shm and /scratch.
  if (auto s = do_mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV); !s)
    return s.error().context("make the new root read-only");
  return {};
}

}  // namespace vbench
