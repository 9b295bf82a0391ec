#pragma once
// Docker's security layers, one knob each, for vbench's own container (so a
// report can show which layer costs what):
//
//   seccomp = docker-default   a BPF filter shaped like Docker's default
//                              profile: default action EPERM, an allow rule
//                              per permitted syscall, clone only without
//                              namespace flags, clone3 -> ENOSYS (so libc falls
//                              back to clone), personality only for the
//                              values Docker allows. Built with libseccomp in
//                              vbench and installed by the container's init
//                              just before it execs the agent, so the static
//                              agent needs no libseccomp.
//   capabilities = docker-default   the bounding set cut to Docker's 14
//   no_new_privs                    PR_SET_NO_NEW_PRIVS before exec
//
// The syscalls denied are the ones Docker's documentation lists as blocked
// by its default profile (and those it allows only with a capability the
// default set lacks). It is Docker's policy, not Docker's exact program: the
// order and shape of the BPF follow libseccomp here, libseccomp-golang there.
#include <linux/filter.h>

#include <string>
#include <vector>

#include "core/choice.hpp"
#include "core/error.hpp"

namespace vbench {

enum class SeccompMode { None, DockerDefault };
inline constexpr Choices<SeccompMode, 2> kSeccompModes{
    {{"none", SeccompMode::None}, {"docker-default", SeccompMode::DockerDefault}}};
enum class CapabilitySet { All, DockerDefault };
inline constexpr Choices<CapabilitySet, 2> kCapabilitySets{
    {{"all", CapabilitySet::All}, {"docker-default", CapabilitySet::DockerDefault}}};

// The syscalls Docker's default profile denies (by name).
const std::vector<std::string>& docker_denied_syscalls();

// The filter program for this architecture.
Result<std::vector<sock_filter>> docker_default_seccomp_program();

// Capability numbers of Docker's default set.
std::vector<int> docker_default_capability_numbers();

struct SecurityPlan {
  std::vector<sock_filter> seccomp;  // empty = no filter
  bool drop_capabilities = false;    // keep only docker_default_capability_numbers()
  std::vector<int> keep_caps;
  bool no_new_privs = false;
};

// Applies the plan to the calling process (the container's init, right
// before exec). Async-signal-safe enough for a forked child: no allocation.
Status apply_security(const SecurityPlan& plan);

}  // namespace vbench
