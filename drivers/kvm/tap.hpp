#pragma once
// The guest's network link: a tap device on the host with the host end of a
// /30 from 198.19.0.0/16 (the kvm half of the 198.18.0.0/15 benchmark range),
// the guest taking the other address.
//
// The tap is not persistent: it lives as long as a descriptor on it is open
// (ours, and QEMU's copy, which gets it as `-netdev tap,fd=`). When both
// processes are gone, whatever way they died, the kernel removes it.
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace vbench {

struct GuestLink {
  std::string tap;       // "vbk" + hashes of run id and env, at most 15 characters
  std::string host_ip;   // "198.19.x.y+1"
  std::string guest_ip;  // "198.19.x.y+2"
  int prefix = 30;
  std::string mac;  // the guest NIC's, 52:54:00:xx:xx:xx (QEMU's OUI)
  UniqueFd fd;      // the tap, opened with IFF_VNET_HDR for QEMU's offloads
};

// Tap name for (run id, environment name): stable and at most IFNAMSIZ-1.
std::string tap_name_for(const std::string& run_id, const std::string& env);

// Creates the tap and gives it the host address of a /30 that no interface
// on the host uses yet (probing from a hash of the name, under a lock file
// so that concurrent vbench runs do not pick the same one).
Result<GuestLink> create_guest_link(const std::string& run_id, const std::string& env);

// Removes a tap left by a dead run (a persistent one, or one whose holders
// are gone): attaching and detaching makes the kernel delete a non-persistent
// device. Absent is fine.
Status remove_tap(const std::string& name);

bool interface_exists(const std::string& name);

}  // namespace vbench
