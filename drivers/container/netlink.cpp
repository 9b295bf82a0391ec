#include "drivers/container/netlink.hpp"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>

namespace vbench {

std::string Ipv4::str() const {
  return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 255, (value >> 8) & 255, value & 255);
}

Result<Ipv4> Ipv4::parse(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return make_error("`{}` is not an IPv4 address", text);
  return Ipv4{ntohl(a.s_addr)};
}

namespace {

// One rtnetlink request under construction: header, fixed part, attributes
// (nestable). Lengths are patched in when a nest or the message is closed.
class NlRequest {
 public:
  NlRequest(uint16_t type, uint16_t flags) : buf_(NLMSG_HDRLEN, 0) {
    auto* h = header();
    h->nlmsg_type = type;
    h->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  }
  template <typename T>
  void put_fixed(const T& t) {
    append(&t, sizeof t);
  }
  void put_attr(uint16_t type, const void* data, size_t len) {
    rtattr a{};
    a.rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    a.rta_type = type;
    append(&a, sizeof a);
    append(data, len);
  }
  void put_string(uint16_t type, const std::string& s) { put_attr(type, s.c_str(), s.size() + 1); }
  void put_u32(uint16_t type, uint32_t v) { put_attr(type, &v, sizeof v); }
  void put_be32(uint16_t type, uint32_t host_order) {
    uint32_t v = htonl(host_order);
    put_attr(type, &v, sizeof v);
  }
  size_t begin_nest(uint16_t type) {
    size_t at = buf_.size();
    rtattr a{};
    a.rta_type = type;
    append(&a, sizeof a);
    return at;
  }
  void end_nest(size_t at) {
    reinterpret_cast<rtattr*>(buf_.data() + at)->rta_len = static_cast<unsigned short>(buf_.size() - at);
  }
  std::vector<char>& finish() {
    header()->nlmsg_len = static_cast<uint32_t>(buf_.size());
    return buf_;
  }

 private:
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  void append(const void* p, size_t len) {
    const size_t at = buf_.size();
    buf_.resize(at + RTA_ALIGN(len), 0);
    std::memcpy(buf_.data() + at, p, len);
  }
  std::vector<char> buf_;
};

// Walks the attributes in [data, data + len).
template <typename F>
void for_each_attr(const void* data, size_t len, F&& f) {
  auto* a = static_cast<const rtattr*>(data);
  int left = static_cast<int>(len);
  for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) f(a);
}

std::string attr_string(const rtattr* a) {
  const char* p = static_cast<const char*>(RTA_DATA(a));
  size_t n = RTA_PAYLOAD(a);
  while (n > 0 && p[n - 1] == '\0') --n;
  return std::string(p, n);
}

Result<UniqueFd> open_socket() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return sys_error("socket(AF_NETLINK, NETLINK_ROUTE)");
  // The kernel answers rtnetlink requests synchronously; the timeout only
  // guards against a bug turning into a hang.
  timeval tv{5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return sys_error("bind netlink socket");
  return fd;
}

}  // namespace

Result<Rtnl> Rtnl::open() {
  auto fd = open_socket();
  if (!fd) return fd.error();
  return Rtnl(std::move(*fd));
}

Result<Rtnl> Rtnl::open_in(int netns_fd) {
  // setns(CLONE_NEWNET) in a short-lived thread: it assumes netns_fd is a
  // network namespace we may enter (root, or its owning user namespace), and
  // moves only that thread, which ends at once. The socket keeps acting in
  // the namespace it was created in.
  Result<UniqueFd> out = make_error("no socket");
  std::thread t([&] {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      out = sys_error("setns into the container's network namespace");
      return;
    }
    out = open_socket();
  });
  t.join();
  if (!out) return out.error();
  return Rtnl(std::move(*out));
}

Status Rtnl::transact(std::vector<char>& msg, const std::string& what) {
  auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
  h->nlmsg_flags |= NLM_F_ACK;
  h->nlmsg_seq = seq_++;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return sys_error(fmt::format("netlink {}: send", what));
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(fmt::format("netlink {}: receive", what));
    }
    int left = static_cast<int>(n);
    for (auto* r = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(r, left); r = NLMSG_NEXT(r, left)) {
      if (r->nlmsg_seq != h->nlmsg_seq || r->nlmsg_type != NLMSG_ERROR) continue;
      auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(r));
      if (e->error == 0) return {};
      return sys_error(fmt::format("netlink {}", what), -e->error);
    }
  }
}

template <typename F>
Status Rtnl::dump(std::vector<char>& msg, const std::string& what, F&& each) {
  auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
  h->nlmsg_flags |= NLM_F_DUMP;
  h->nlmsg_seq = seq_++;
  const uint32_t seq = h->nlmsg_seq;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return sys_error(fmt::format("netlink {}: send", what));
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(fmt::format("netlink {}: receive", what));
    }
    int left = static_cast<int>(n);
    // NLMSG_OK compares the header's __u32 length with the int it is given:
    // the kernel's macro, the kernel's types (both bounded by the buffer).
    // NOLINTNEXTLINE(clang-diagnostic-sign-compare)
    for (auto* r = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(r, left); r = NLMSG_NEXT(r, left)) {
      if (r->nlmsg_seq != seq) continue;
      if (r->nlmsg_type == NLMSG_DONE) return {};
      if (r->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(r));
        if (e->error == 0) return {};
        return sys_error(fmt::format("netlink {}", what), -e->error);
      }
      each(r);
    }
  }
}

Status Rtnl::add_veth(const std::string& name, const std::string& peer, int peer_netns_fd) {
  NlRequest req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  req.put_fixed(ifi);
  req.put_string(IFLA_IFNAME, name);
  size_t info = req.begin_nest(IFLA_LINKINFO);
  req.put_string(IFLA_INFO_KIND, "veth");
  size_t data = req.begin_nest(IFLA_INFO_DATA);
  size_t peer_nest = req.begin_nest(VETH_INFO_PEER);
  ifinfomsg peer_ifi{};
  peer_ifi.ifi_family = AF_UNSPEC;
  req.put_fixed(peer_ifi);
  req.put_string(IFLA_IFNAME, peer);
  // The peer is created directly in the target namespace, so its name only
  // has to be unique there.
  if (peer_netns_fd >= 0) req.put_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  req.end_nest(peer_nest);
  req.end_nest(data);
  req.end_nest(info);
  return transact(req.finish(), fmt::format("create veth `{}` (peer `{}`)", name, peer));
}

Status Rtnl::add_bridge(const std::string& name) {
  NlRequest req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  req.put_fixed(ifi);
  req.put_string(IFLA_IFNAME, name);
  size_t info = req.begin_nest(IFLA_LINKINFO);
  req.put_string(IFLA_INFO_KIND, "bridge");
  req.end_nest(info);
  return transact(req.finish(), fmt::format("create bridge `{}`", name));
}

Result<int> Rtnl::require_index(const std::string& name) {
  auto idx = link_index(name);
  if (!idx) return idx.error();
  if (*idx == 0) return make_error("no link `{}`", name);
  return *idx;
}

Status Rtnl::set_master(const std::string& name, const std::string& master) {
  auto idx = require_index(name);
  if (!idx) return idx.error();
  auto midx = require_index(master);
  if (!midx) return midx.error();
  NlRequest req(RTM_NEWLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = *idx;
  req.put_fixed(ifi);
  req.put_u32(IFLA_MASTER, static_cast<uint32_t>(*midx));
  return transact(req.finish(), fmt::format("enslave `{}` to `{}`", name, master));
}

Status Rtnl::set_alias(const std::string& name, const std::string& alias) {
  auto idx = require_index(name);
  if (!idx) return idx.error();
  NlRequest req(RTM_NEWLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = *idx;
  req.put_fixed(ifi);
  req.put_string(IFLA_IFALIAS, alias);
  return transact(req.finish(), fmt::format("set alias of `{}`", name));
}

Status Rtnl::set_up(const std::string& name) {
  auto idx = require_index(name);
  if (!idx) return idx.error();
  NlRequest req(RTM_NEWLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = *idx;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  req.put_fixed(ifi);
  return transact(req.finish(), fmt::format("set `{}` up", name));
}

Status Rtnl::add_address(const std::string& name, Ipv4 addr, int prefix) {
  auto idx = require_index(name);
  if (!idx) return idx.error();
  NlRequest req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<unsigned>(*idx);
  req.put_fixed(ifa);
  req.put_be32(IFA_LOCAL, addr.value);
  req.put_be32(IFA_ADDRESS, addr.value);
  const uint32_t host_mask = prefix >= 32 ? 0 : (0xffffffffu >> prefix);
  req.put_be32(IFA_BROADCAST, addr.value | host_mask);
  return transact(req.finish(), fmt::format("add address {}/{} to `{}`", addr.str(), prefix, name));
}

Status Rtnl::add_default_route(Ipv4 gateway) {
  NlRequest req(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  rtmsg rt{};
  rt.rtm_family = AF_INET;
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_BOOT;
  rt.rtm_scope = RT_SCOPE_UNIVERSE;
  rt.rtm_type = RTN_UNICAST;
  req.put_fixed(rt);
  req.put_be32(RTA_GATEWAY, gateway.value);
  return transact(req.finish(), fmt::format("add default route via {}", gateway.str()));
}

Status Rtnl::delete_link(const std::string& name) {
  NlRequest req(RTM_DELLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  req.put_fixed(ifi);
  req.put_string(IFLA_IFNAME, name);
  auto s = transact(req.finish(), fmt::format("delete link `{}`", name));
  if (!s && (s.error().err == ENODEV || s.error().err == ENOENT)) return {};
  return s;
}

Result<std::vector<LinkInfo>> Rtnl::links() {
  NlRequest req(RTM_GETLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  req.put_fixed(ifi);
  std::vector<LinkInfo> out;
  auto s = dump(req.finish(), "list links", [&](const nlmsghdr* r) {
    if (r->nlmsg_type != RTM_NEWLINK) return;
    auto* m = static_cast<const ifinfomsg*>(NLMSG_DATA(r));
    LinkInfo li;
    li.index = m->ifi_index;
    for_each_attr(IFLA_RTA(m), IFLA_PAYLOAD(r), [&](const rtattr* a) {
      if (a->rta_type == IFLA_IFNAME)
        li.name = attr_string(a);
      else if (a->rta_type == IFLA_IFALIAS)
        li.alias = attr_string(a);
      else if (a->rta_type == IFLA_LINKINFO)
        for_each_attr(RTA_DATA(a), RTA_PAYLOAD(a), [&](const rtattr* n) {
          if (n->rta_type == IFLA_INFO_KIND) li.kind = attr_string(n);
        });
    });
    out.push_back(std::move(li));
  });
  if (!s) return s.error();
  return out;
}

Result<int> Rtnl::link_index(const std::string& name) {
  auto all = links();
  if (!all) return all.error();
  for (const auto& l : *all)
    if (l.name == name) return l.index;
  return 0;
}

Result<std::vector<Ipv4>> Rtnl::ipv4_addresses() {
  NlRequest req(RTM_GETADDR, 0);
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  req.put_fixed(ifa);
  std::vector<Ipv4> out;
  auto s = dump(req.finish(), "list addresses", [&](const nlmsghdr* r) {
    if (r->nlmsg_type != RTM_NEWADDR) return;
    auto* m = static_cast<const ifaddrmsg*>(NLMSG_DATA(r));
    if (m->ifa_family != AF_INET) return;
    for_each_attr(IFA_RTA(m), IFA_PAYLOAD(r), [&](const rtattr* a) {
      if ((a->rta_type == IFA_LOCAL || a->rta_type == IFA_ADDRESS) && RTA_PAYLOAD(a) == 4) {
        uint32_t v;
        std::memcpy(&v, RTA_DATA(a), 4);
        Ipv4 ip{ntohl(v)};
        if (out.empty() || !(out.back() == ip)) out.push_back(ip);
      }
    });
  });
  if (!s) return s.error();
  return out;
}

}  // namespace vbench
