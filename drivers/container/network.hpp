#pragma once
// The container's network, made with rtnetlink from the host side:
//
//   none    only lo (up) in the container
//   veth    container eth0 <-veth-> host vbXXXXXXXh; the peer listens on the host end
//   bridge  the host end enslaved to a host bridge vbXXXXXXXb that holds the
//           host address (a docker0-like path, without NAT)
//   nat     Docker's default path: the container's veth on a bridge inside a
//           vbench-made router namespace that forwards and masquerades
//           (conntrack + MASQUERADE) onto an uplink veth to the host, where
//           the peer listens. The router namespace keeps the host's own
//           forwarding and firewall settings untouched.
//
// Every address is a /30 from 198.18.0.0/15 (RFC 2544 benchmarking space),
// chosen so that it is on no host interface yet (under a lock shared by
// concurrent vbench processes).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/choice.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "drivers/container/netlink.hpp"

namespace vbench {

enum class NetworkMode { None, Veth, Bridge, Nat };
inline constexpr Choices<NetworkMode, 4> kNetworkModes{{{"none", NetworkMode::None},
                                                        {"veth", NetworkMode::Veth},
                                                        {"bridge", NetworkMode::Bridge},
                                                        {"nat", NetworkMode::Nat}}};
inline std::string_view to_string(NetworkMode m) { return name_of(kNetworkModes, m); }

// The host links an instance would create in a mode (known before they exist,
// so that they can be recorded first).
std::vector<std::string> planned_host_links(const std::string& instance, NetworkMode mode);

struct ContainerNetwork {
  NetworkMode mode = NetworkMode::None;
  Ipv4 peer_addr;       // where the host peer listens (reachable from the container)
  Ipv4 container_addr;  // the container's eth0
  UniqueFd router_ns;   // nat: holds the router namespace (it goes when this closes)
  std::vector<std::string> host_links;
  nlohmann::json describe() const;
};

// A fresh network namespace (only lo, down), held by the descriptor: it
// goes when the last descriptor or process in it does. For runtimes that
// join a prepared namespace (oci) and for the nat router.
Result<UniqueFd> new_network_namespace();

// Builds the network for a container whose network namespace is behind
// container_netns_fd. On failure, what it created on the host is removed.
Result<ContainerNetwork> setup_network(NetworkMode mode, const std::string& instance, int container_netns_fd);
// Deletes the host links (and with them the veth pairs); closes the router.
Status teardown_network(ContainerNetwork& net);
Status delete_host_links(const std::vector<std::string>& names);

// The /30 block index for a container: the first block from `start` whose
// four addresses are all unused. Exposed for tests.
Result<uint32_t> pick_free_block(const std::vector<Ipv4>& in_use, uint32_t start,
                                 const std::vector<uint32_t>& taken = {});
Ipv4 block_address(uint32_t block, uint32_t host);  // 198.18.0.0 + 4 * block + host

}  // namespace vbench
