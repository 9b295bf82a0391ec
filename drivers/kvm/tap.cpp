#include "drivers/kvm/tap.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "core/clock.hpp"
#include "core/runstate.hpp"

namespace vbench {
namespace {

uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

constexpr uint32_t kKvmNet = 0xC6130000;  // 198.19.0.0/16
constexpr uint32_t kSubnets = 1u << 14;   // /30s in it

std::string ip_string(uint32_t host_order) {
  in_addr a{htonl(host_order)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

// True if any host interface has an IPv4 address inside [base, base+4).
bool subnet_in_use(uint32_t base) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool used = false;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    uint32_t a = ntohl(reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr);
    if ((a & ~3u) == base) used = true;
  }
  freeifaddrs(list);
  return used;
}

Status set_address(const std::string& name, const std::string& ip, int prefix) {
  // SIOCSIF* on an AF_INET datagram socket: address, netmask, then IFF_UP.
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return sys_error("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, ip.c_str(), &sin->sin_addr);
  if (::ioctl(s.get(), SIOCSIFADDR, &ifr) != 0) return sys_error(fmt::format("set address {} on {}", ip, name));
  sin->sin_addr.s_addr = htonl(~0u << (32 - prefix));
  if (::ioctl(s.get(), SIOCSIFNETMASK, &ifr) != 0) return sys_error(fmt::format("set netmask on {}", name));
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return sys_error(fmt::format("get flags of {}", name));
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return sys_error(fmt::format("bring up {}", name));
  return {};
}

Result<UniqueFd> open_tap(const std::string& name, bool vnet_hdr) {
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd) return sys_error("open `/dev/net/tun` (needs root or CAP_NET_ADMIN, and the tun module)");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  // TUNSETIFF creates the tap (or attaches to an existing, unused one).
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return sys_error(fmt::format("create tap `{}`", name));
  return fd;
}

}  // namespace

std::string tap_name_for(const std::string& run_id, const std::string& env) {
  return fmt::format("vbk{:08x}{:04x}", fnv1a(run_id), fnv1a(env) & 0xffff);
}

bool interface_exists(const std::string& name) { return if_nametoindex(name.c_str()) != 0; }

Result<GuestLink> create_guest_link(const std::string& run_id, const std::string& env) {
  GuestLink link;
  link.tap = tap_name_for(run_id, env);
  const uint32_t h = fnv1a(run_id + "/" + env);
  link.mac = fmt::format("52:54:00:{:02x}:{:02x}:{:02x}", (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
  if (auto s = mkdir_p(kRunStateRoot); !s) return s.error().context("tap");
  // The lock covers "find a free /30" and "take it", across vbench processes.
  UniqueFd lock(::open((std::string(kRunStateRoot) + "/kvm-net.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock || ::flock(lock.get(), LOCK_EX) != 0) return sys_error("lock the guest address allocation");
  uint32_t base = 0;
  for (uint32_t i = 0; i < kSubnets; ++i) {
    const uint32_t candidate = kKvmNet + 4 * ((h + i) % kSubnets);
    if (!subnet_in_use(candidate)) {
      base = candidate;
      break;
    }
  }
  if (base == 0) return make_error("tap: every /30 in 198.19.0.0/16 is in use on this host");
  link.host_ip = ip_string(base + 1);
  link.guest_ip = ip_string(base + 2);
  auto fd = open_tap(link.tap, true);
  if (!fd) return fd.error();
  link.fd = std::move(*fd);
  if (auto s = set_address(link.tap, link.host_ip, link.prefix); !s) return s.error().context("tap");
  return link;
}

Status remove_tap(const std::string& name) {
  // A QEMU that was just killed has closed its descriptor, but the kernel
  // tears the device down asynchronously: until then TUNSETIFF says EBUSY.
  // Give that a moment before concluding a live process still holds it.
  const uint64_t deadline = now_ns() + 3'000'000'000ull;
  for (;;) {
    if (!interface_exists(name)) return {};
    auto fd = open_tap(name, false);
    if (fd) {
      // Clear persistence in case something made it persistent; closing the
      // last descriptor then deletes the device.
      ::ioctl(fd->get(), TUNSETPERSIST, 0);
      return {};
    }
    if (now_ns() >= deadline) return fd.error();
    ::usleep(20000);
  }
}

}  // namespace vbench
