#pragma once
// A small rtnetlink client over a raw NETLINK_ROUTE socket: just what the
// container network needs (veth pairs, a bridge, IPv4 addresses, a default
// route, link aliases), with no dependency on iproute2. A socket acts in the
// network namespace it was created in, so one Rtnl per namespace.
#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace vbench {

// An IPv4 address in host byte order, with helpers for the dotted form.
struct Ipv4 {
  uint32_t value = 0;
  std::string str() const;
  static Result<Ipv4> parse(const std::string& text);
  bool operator==(const Ipv4&) const = default;
};

struct LinkInfo {
  int index = 0;
  std::string name;
  std::string alias;  // IFLA_IFALIAS; vbench puts "vbench <instance>" there
  std::string kind;   // "veth", "bridge", ... (empty when the kernel gives none)
};

class Rtnl {
 public:
  // A socket in the caller's network namespace.
  static Result<Rtnl> open();
  // A socket in the network namespace behind netns_fd (e.g. /proc/PID/ns/net).
  static Result<Rtnl> open_in(int netns_fd);

  // A veth pair: `name` here, `peer` in the namespace behind peer_netns_fd
  // (-1: here too).
  Status add_veth(const std::string& name, const std::string& peer, int peer_netns_fd);
  Status add_bridge(const std::string& name);
  Status set_master(const std::string& name, const std::string& master);
  Status set_alias(const std::string& name, const std::string& alias);
  Status set_up(const std::string& name);
  Status add_address(const std::string& name, Ipv4 addr, int prefix);
  Status add_default_route(Ipv4 gateway);
  // Deletes the link; a link that is already gone is not an error.
  Status delete_link(const std::string& name);

  Result<int> link_index(const std::string& name);  // 0 when there is no such link
  Result<std::vector<LinkInfo>> links();
  Result<std::vector<Ipv4>> ipv4_addresses();  // every IPv4 address on every link

 private:
  explicit Rtnl(UniqueFd fd) : fd_(std::move(fd)) {}
  // Sends one request and waits for its ACK (errors carry the kernel's errno).
  Status transact(std::vector<char>& msg, const std::string& what);
  // Sends a dump request and hands every reply message to `each`.
  template <typename F>
  Status dump(std::vector<char>& msg, const std::string& what, F&& each);
  Result<int> require_index(const std::string& name);
  UniqueFd fd_;
  uint32_t seq_ = 1;
};

}  // namespace vbench
