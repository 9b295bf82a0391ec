#include "agent/init.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <string>

#include "agent/protocol.hpp"
#include "core/clock.hpp"
#include "core/fs.hpp"

namespace vbench {
namespace {

// Waits (bounded) for a path that a driver's probe creates asynchronously.
bool wait_for_path(const std::string& path, double seconds) {
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(seconds * 1e9);
  while (!path_exists(path)) {
    if (now_ns() > deadline) return false;
    usleep(10000);
  }
  return true;
}

Status mount_basics() {
  // Plain kernel filesystems on the directories the initramfs provides.
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) return sys_error("mount /proc");
  if (::mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) return sys_error("mount /sys");
  // devtmpfs: the kernel creates the nodes (vda, vport*) itself; no udev here.
  if (::mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, nullptr) != 0) return sys_error("mount /dev");
  return {};
}

Status load_modules() {
  auto order = read_file(kGuestModulesOrder);
  if (!order) return order.error();
  std::istringstream in(*order);
  for (std::string name; std::getline(in, name);) {
    if (name.empty()) continue;
    const std::string path = fmt::format("{}/{}.ko", kGuestModulesDir, name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return sys_error(fmt::format("open `{}`", path));
    // finit_module: a plain (uncompressed) .ko; the host resolved the order.
    if (::syscall(SYS_finit_module, fd.get(), "", 0) != 0 && errno != EEXIST)
      return sys_error(fmt::format("load module {}", name));
  }
  return {};
}

// Sets an IPv4 address and brings the interface up (SIOCSIF* ioctls on an
// AF_INET datagram socket: no iproute2 in the guest).
Status configure_interface(const std::string& ifname, const std::string& cidr) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return sys_error("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (!cidr.empty()) {
    const auto slash = cidr.find('/');
    const std::string addr = cidr.substr(0, slash);
    const int prefix = slash == std::string::npos ? 32 : std::atoi(cidr.c_str() + slash + 1);
    auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    sin->sin_family = AF_INET;
    if (prefix < 1 || prefix > 32 || inet_pton(AF_INET, addr.c_str(), &sin->sin_addr) != 1)
      return make_error("bad address `{}` on the kernel command line", cidr);
    if (::ioctl(s.get(), SIOCSIFADDR, &ifr) != 0) return sys_error(fmt::format("set address of {}", ifname));
    sin->sin_addr.s_addr = htonl(~0u << (32 - prefix));
    if (::ioctl(s.get(), SIOCSIFNETMASK, &ifr) != 0) return sys_error(fmt::format("set netmask of {}", ifname));
  }
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return sys_error(fmt::format("get flags of {}", ifname));
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return sys_error(fmt::format("bring up {}", ifname));
  return {};
}

std::string cmdline_value(const std::string& cmdline, const std::string& key) {
  std::istringstream in(cmdline);
  for (std::string tok; in >> tok;)
    if (tok.rfind(key, 0) == 0) return tok.substr(key.size());
  return {};
}

// The /dev node of the named virtio-serial port (sysfs holds the names).
Result<std::string> find_control_port(double seconds) {
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(seconds * 1e9);
  for (;;) {
    if (DIR* d = ::opendir("/sys/class/virtio-ports")) {
      std::string found;
      while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        auto name = read_line(fmt::format("/sys/class/virtio-ports/{}/name", e->d_name));
        if (name && *name == kGuestControlPort) found = fmt::format("/dev/{}", e->d_name);
      }
      ::closedir(d);
      if (!found.empty() && wait_for_path(found, seconds)) return found;
    }
    if (now_ns() > deadline) return make_error("no virtio-serial port named {}", kGuestControlPort);
    usleep(10000);
  }
}

Status boot() {
  if (auto s = mount_basics(); !s) return s;
  sethostname("vbench-guest", 12);
  if (auto s = load_modules(); !s) return s.error().context("modules");
  auto cmdline = read_line("/proc/cmdline");
  if (!cmdline) return cmdline.error();
  if (auto s = configure_interface("lo", ""); !s) return s;
  if (!wait_for_path("/sys/class/net/eth0", 10)) return make_error("no eth0 (virtio-net) appeared");
  if (auto s = configure_interface("eth0", cmdline_value(*cmdline, kGuestIpParam)); !s) return s;
  if (!wait_for_path(kGuestDisk, 10)) return make_error("no {} (virtio-blk) appeared", kGuestDisk);
  // The host formatted the image as ext4 (built into the kernels we use).
  if (::mount(kGuestDisk, kGuestScratch, "ext4", 0, nullptr) != 0)
    return sys_error(fmt::format("mount {} on {}", kGuestDisk, kGuestScratch));
  return {};
}

[[noreturn]] void power_off(int code) {
  ::sync();
  ::umount2(kGuestScratch, MNT_DETACH);
  ::reboot(RB_POWER_OFF);
  // Only reached if reboot() failed; PID 1 exiting panics the guest, which
  // the host sees as well.
  _exit(code);
}

}  // namespace

int run_as_guest_init() {
  // stdin/stdout/stderr are /dev/console (the serial console, logged on the host).
  if (auto s = boot(); !s) {
    fmt::print(stderr, "vbench-init: {}\n", s.error().message);
    power_off(1);
  }
  auto port = find_control_port(10);
  if (!port) {
    fmt::print(stderr, "vbench-init: {}\n", port.error().message);
    power_off(1);
  }
  UniqueFd fd(::open(port->c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) {
    fmt::print(stderr, "vbench-init: {}\n", sys_error(fmt::format("open `{}`", *port)).message);
    power_off(1);
  }
  // Until the host end of the port is connected, reads return EOF and poll
  // reports POLLHUP: wait for the connection before serving.
  const uint64_t deadline = now_ns() + 60'000'000'000ull;
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP)) break;
    if (now_ns() > deadline) {
      fmt::print(stderr, "vbench-init: the host never connected to {}\n", *port);
      power_off(1);
    }
    usleep(10000);
  }
  fmt::print(stderr, "vbench-init: serving on {}\n", *port);
  start_reaper();
  serve_protocol(fd.get(), fd.get(), /*trace=*/true);
  power_off(0);
}

}  // namespace vbench
