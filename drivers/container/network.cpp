#include "drivers/container/network.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "core/clock.hpp"
#include "drivers/container/state.hpp"

namespace vbench {

namespace {

constexpr uint32_t kBase = (198u << 24) | (18u << 16);  // 198.18.0.0/15
constexpr uint32_t kBlocks = (1u << 17) / 4;            // /30 blocks in a /15
constexpr int kPrefix = 30;

// Names inside the namespaces vbench owns (unique there by construction).
constexpr const char* kContainerLink = "eth0";
constexpr const char* kRouterBridge = "br0";
constexpr const char* kRouterToContainer = "ctr0";
constexpr const char* kRouterUplink = "uplink";

uint32_t hash_of(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

// Serialises address choice between concurrent vbench processes.
class NetworkLock {
 public:
  Status acquire() {
    if (auto s = mkdir_p("/run/vbench", 0700); !s) return s;
    fd_.reset(::open("/run/vbench/network.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd_) return sys_error("open `/run/vbench/network.lock`");
    while (::flock(fd_.get(), LOCK_EX) != 0)
      if (errno != EINTR) return sys_error("lock `/run/vbench/network.lock`");
    return {};
  }

 private:
  UniqueFd fd_;  // closing releases the lock
};

// Runs `fn` in a thread that has entered the namespace behind netns_fd.
template <typename F>
Status in_netns(int netns_fd, F&& fn) {
  Status out;
  std::thread t([&] {
    // setns(CLONE_NEWNET) moves this short-lived thread only.
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      out = sys_error("setns into a vbench network namespace");
      return;
    }
    out = fn();
  });
  t.join();
  return out;
}

// Runs iptables inside the router namespace, capturing what it says.
Status router_iptables(int netns_fd, const std::vector<std::string>& args) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return sys_error("pipe for iptables");
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork iptables");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // setns(CLONE_NEWNET): the single-threaded child enters the router.
    if (::setns(netns_fd, CLONE_NEWNET) != 0) _exit(126);
    ::dup2(wr.get(), 1);
    ::dup2(wr.get(), 2);
    std::vector<char*> argv;
    static char prog[] = "iptables";
    argv.push_back(prog);
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp("iptables", argv.data());
    _exit(127);
  }
  wr.reset();
  std::string said;
  char buf[4096];
  const uint64_t deadline = now_ns() + 20'000'000'000ull;
  for (;;) {
    pollfd p{rd.get(), POLLIN, 0};
    int rc = ::poll(&p, 1, 100);
    if (rc > 0) {
      ssize_t n = ::read(rd.get(), buf, sizeof buf);
      if (n <= 0) break;
      if (said.size() < 8192) said.append(buf, static_cast<size_t>(n));
    }
    if (now_ns() > deadline) {
      ::kill(pid, SIGKILL);
      break;
    }
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  while (!said.empty() && said.back() == '\n') said.pop_back();
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return {};
  std::string cmd = "iptables";
  for (const auto& a : args) cmd += " " + a;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 127) return make_error("`{}`: iptables not found (install iptables)", cmd);
  return make_error("`{}` in the router namespace failed (status {}): {}", cmd, st, said);
}

Status write_in_netns(int netns_fd, const std::string& path, const std::string& value) {
  return in_netns(netns_fd, [&]() -> Status {
    // /proc/sys/net resolves to the namespace of the opening thread.
    return write_file(path, value);
  });
}

Status veth_to_container(Rtnl& host, Rtnl& ctr, const std::string& instance, const std::string& host_link, int ctr_ns,
                         Ipv4 host_addr, Ipv4 ctr_addr, bool host_addr_on_link) {
  if (auto s = host.add_veth(host_link, kContainerLink, ctr_ns); !s) return s;
  if (auto s = host.set_alias(host_link, link_alias(instance)); !s) return s;
  if (host_addr_on_link)
    if (auto s = host.add_address(host_link, host_addr, kPrefix); !s) return s;
  if (auto s = host.set_up(host_link); !s) return s;
  if (auto s = ctr.add_address(kContainerLink, ctr_addr, kPrefix); !s) return s;
  return ctr.set_up(kContainerLink);
}

}  // namespace

Result<UniqueFd> new_network_namespace() {
  Result<UniqueFd> out = make_error("no namespace");
  std::thread t([&] {
    // unshare(CLONE_NEWNET) in a thread gives that thread a fresh namespace;
    // the descriptor opened on it keeps it alive after the thread ends.
    if (::unshare(CLONE_NEWNET) != 0) {
      out = sys_error("unshare a network namespace");
      return;
    }
    UniqueFd fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!fd)
      out = sys_error("open the new network namespace");
    else
      out = std::move(fd);
  });
  t.join();
  return out;
}

std::vector<std::string> planned_host_links(const std::string& instance, NetworkMode mode) {
  switch (mode) {
    case NetworkMode::None:
      return {};
    case NetworkMode::Veth:
    case NetworkMode::Nat:
      return {link_name(instance, 'h')};
    case NetworkMode::Bridge:
      return {link_name(instance, 'h'), link_name(instance, 'b')};
  }
  return {};
}

Ipv4 block_address(uint32_t block, uint32_t host) { return Ipv4{kBase + 4 * (block % kBlocks) + host}; }

Result<uint32_t> pick_free_block(const std::vector<Ipv4>& in_use, uint32_t start, const std::vector<uint32_t>& taken) {
  std::vector<uint32_t> used;
  for (const auto& a : in_use)
    if ((a.value & 0xfffe0000u) == kBase) used.push_back((a.value - kBase) / 4);
  used.insert(used.end(), taken.begin(), taken.end());
  std::sort(used.begin(), used.end());
  for (uint32_t i = 0; i < kBlocks; ++i) {
    const uint32_t b = (start + i) % kBlocks;
    if (!std::binary_search(used.begin(), used.end(), b)) return b;
  }
  return make_error("no free /30 left in 198.18.0.0/15");
}

nlohmann::json ContainerNetwork::describe() const {
  nlohmann::json j = {{"mode", to_string(mode)}};
  if (mode != NetworkMode::None) {
    j["peer_address"] = peer_addr.str();
    j["container_address"] = container_addr.str();
    j["host_links"] = host_links;
  }
  return j;
}

Status delete_host_links(const std::vector<std::string>& names) {
  if (names.empty()) return {};
  auto host = Rtnl::open();
  if (!host) return host.error();
  Status first;
  // Bridge last would also work; order does not matter for deletion.
  for (const auto& n : names)
    if (auto s = host->delete_link(n); !s && first) first = s;
  return first;
}

Status teardown_network(ContainerNetwork& net) {
  auto s = delete_host_links(net.host_links);
  net.host_links.clear();
  net.router_ns.reset();
  return s;
}

Result<ContainerNetwork> setup_network(NetworkMode mode, const std::string& instance, int ctr_ns) {
  ContainerNetwork net;
  net.mode = mode;
  auto ctr = Rtnl::open_in(ctr_ns);
  if (!ctr) return ctr.error().context("container network");
  if (auto s = ctr->set_up("lo"); !s) return s.error().context("container network");
  if (mode == NetworkMode::None) return net;

  auto host = Rtnl::open();
  if (!host) return host.error().context("container network");
  NetworkLock lock;
  if (auto s = lock.acquire(); !s) return s.error().context("container network");
  auto in_use = host->ipv4_addresses();
  if (!in_use) return in_use.error().context("container network");
  auto block = pick_free_block(*in_use, hash_of(instance));
  if (!block) return block.error().context("container network");

  auto fail = [&](const Error& e) -> Error {
    (void)teardown_network(net);
    return e.context(fmt::format("container network ({})", to_string(mode)));
  };
  const std::string host_link = link_name(instance, 'h');
  if (mode == NetworkMode::Veth || mode == NetworkMode::Bridge) {
    net.peer_addr = block_address(*block, 1);
    net.container_addr = block_address(*block, 2);
    net.host_links.push_back(host_link);
    if (mode == NetworkMode::Veth) {
      if (auto s = veth_to_container(*host, *ctr, instance, host_link, ctr_ns, net.peer_addr, net.container_addr, true);
          !s)
        return fail(s.error());
      return net;
    }
    const std::string bridge = link_name(instance, 'b');
    net.host_links.push_back(bridge);
    // A new bridge has STP off, so its ports forward at once.
    Status s = host->add_bridge(bridge);
    if (s) s = host->set_alias(bridge, link_alias(instance));
    if (s) s = host->add_address(bridge, net.peer_addr, kPrefix);
    if (s) s = host->set_up(bridge);
    if (s) s = veth_to_container(*host, *ctr, instance, host_link, ctr_ns, net.peer_addr, net.container_addr, false);
    if (s) s = host->set_master(host_link, bridge);
    if (!s) return fail(s.error());
    return net;
  }

  // nat: the uplink (host <-> router) takes the block found above; the
  // container <-> router link another one (it is visible only inside).
  auto inner = pick_free_block(*in_use, *block + 1, {*block});
  if (!inner) return fail(inner.error());
  const Ipv4 uplink_host = block_address(*block, 1), uplink_router = block_address(*block, 2);
  const Ipv4 gateway = block_address(*inner, 1);
  net.peer_addr = uplink_host;
  net.container_addr = block_address(*inner, 2);
  auto router_ns = new_network_namespace();
  if (!router_ns) return fail(router_ns.error());
  net.router_ns = std::move(*router_ns);
  const int rns = net.router_ns.get();
  auto router = Rtnl::open_in(rns);
  if (!router) return fail(router.error());
  net.host_links.push_back(host_link);
  Status s = host->add_veth(host_link, kRouterUplink, rns);
  if (s) s = host->set_alias(host_link, link_alias(instance));
  if (s) s = host->add_address(host_link, uplink_host, kPrefix);
  if (s) s = host->set_up(host_link);
  if (s) s = router->set_up("lo");
  if (s) s = router->add_address(kRouterUplink, uplink_router, kPrefix);
  if (s) s = router->set_up(kRouterUplink);
  if (s) s = router->add_bridge(kRouterBridge);
  if (s) s = router->add_address(kRouterBridge, gateway, kPrefix);
  if (s) s = router->set_up(kRouterBridge);
  if (s) s = router->add_veth(kRouterToContainer, kContainerLink, ctr_ns);
  if (s) s = router->set_master(kRouterToContainer, kRouterBridge);
  if (s) s = router->set_up(kRouterToContainer);
  if (s) s = ctr->add_address(kContainerLink, net.container_addr, kPrefix);
  if (s) s = ctr->set_up(kContainerLink);
  if (s) s = ctr->add_default_route(gateway);
  // Forwarding and masquerading in the router namespace only.
  if (s) s = write_in_netns(rns, "/proc/sys/net/ipv4/ip_forward", "1");
  if (s)
    s = router_iptables(
        rns, {"-w", "-t", "nat", "-A", "POSTROUTING", "-s",
              fmt::format("{}/{}", block_address(*inner, 0).str(), kPrefix), "-o", kRouterUplink, "-j", "MASQUERADE"});
  if (!s) return fail(s.error());
  return net;
}

}  // namespace vbench
