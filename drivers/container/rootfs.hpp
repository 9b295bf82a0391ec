#pragma once
// The container's root filesystem: a tmpfs that holds nothing but mount
// points and the agent binary (bind-mounted read-only), /proc, /sys
// read-only, a minimal /dev, tmpfs /tmp and /dev/shm, and the scratch
// directory at /scratch (a bind mount, or an overlay whose upper layer lives
// on the scratch filesystem). Entered with pivot_root; the old root is
// detached. With an overlay root (rootfs = overlay, as Docker's overlay2
// driver), the root is instead overlayfs over a lower layer that holds a
// copy of the agent (the "image"), with its upper layer on the host's disk,
// writable, and /tmp part of it. All of it happens in the container's own mount namespace, so the
// host sees none of these mounts and none can outlive the container.
#include <string>

#include "core/error.hpp"

namespace vbench {

struct RootfsPlan {
  std::string root;          // an empty host directory; the new root's tmpfs is mounted on it
  std::string agent_binary;  // host path of the static vbench-agent
  std::string scratch;       // host scratch directory ("" = no /scratch)
  bool scratch_overlay = false;
  std::string overlay_upper, overlay_work;  // host directories on the scratch filesystem
  // rootfs = overlay: host directories of the root's layers ("" = tmpfs root).
  // The lower one holds the agent at kAgentInContainer and the mount points.
  std::string root_lower, root_upper, root_work;
};

// Where things are inside the container.
constexpr const char* kAgentInContainer = "/vbench-agent";
constexpr const char* kScratchInContainer = "/scratch";

// Fills an overlay root's lower layer: the agent copied in (not bound) and
// the directories the mounts go on. Runs on the host before the container.
Status prepare_root_lower(const std::string& lower, const std::string& agent_binary);

// Runs in the container's first process: new mount namespace, not yet in
// the new root. On success the process's root and cwd are the new root.
Status assemble_rootfs(const RootfsPlan& plan);

}  // namespace vbench
