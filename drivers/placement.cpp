#include "drivers/placement.hpp"

#include <dirent.h>
#include <errno.h>
#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>

namespace vbench {

int host_cpu_count() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

PlacementPlan plan_placement(Placement p, bool network, int cpus) {
  PlacementPlan plan;
  if (p == Placement::None || cpus < 1) return plan;
  if (p == Placement::Same || cpus < 2) {
    plan.agent = plan.peer = {0};
    return plan;
  }
  // spread
  if (network) {
    for (int c = 0; c < cpus - 1; ++c) plan.agent.push_back(c);
    plan.peer = {cpus - 1};
  } else {
    for (int c = 0; c < cpus; ++c) plan.agent.push_back(c);
  }
  return plan;
}

std::vector<pid_t> process_threads(pid_t pid) {
  std::vector<pid_t> out;
  DIR* d = opendir(fmt::format("/proc/{}/task", pid).c_str());
  if (!d) return out;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') out.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
  closedir(d);
  return out;
}

Status pin_process(pid_t pid, const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpus.empty())
    for (int c = 0; c < host_cpu_count() && c < CPU_SETSIZE; ++c) CPU_SET(c, &set);
  for (int c : cpus)
    if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &set);
  int pinned = 0;
  for (pid_t tid : process_threads(pid)) {
    // sched_setaffinity on a thread id of another process: needs the same
    // owner or CAP_SYS_NICE (vbench runs as root); ESRCH = it just exited.
    if (sched_setaffinity(tid, sizeof set, &set) == 0)
      ++pinned;
    else if (errno != ESRCH)
      return sys_error(fmt::format("placement: pin thread {} of process {}", tid, pid));
  }
  if (pinned == 0) return make_error("placement: process {} has no threads left to pin", pid);
  return {};
}

nlohmann::json describe_placement(Placement p, int cpus) {
  const PlacementPlan net = plan_placement(p, true, cpus), other = plan_placement(p, false, cpus);
  auto list = [](const std::vector<int>& v) { return v.empty() ? nlohmann::json("any") : nlohmann::json(v); };
  nlohmann::json j = {{"policy", to_string(p)},
                      {"host_cpus", cpus},
                      {"network", {{"agent", list(net.agent)}, {"peer", list(net.peer)}}},
                      {"other", {{"agent", list(other.agent)}}}};
  if (p == Placement::Spread && cpus < 2) j["note"] = placement_limitation(cpus);
  return j;
}

std::string placement_limitation(int cpus) {
  if (cpus >= 2) return "";
  return fmt::format(
      "placement = spread needs 2 CPUs to keep the agent and the network peer apart; this host has {}, so they "
      "share CPU 0 (as with placement = same) and network round trips include the context switch between them",
      cpus);
}

Status PlacementApplier::apply(bool network, const std::vector<pid_t>& agent_pids, pid_t peer_pid) {
  if (policy_ == Placement::None) return {};
  const int kind = network ? 1 : 0;
  if (kind == last_ && (!network || peer_pid == last_peer_)) return {};
  const PlacementPlan plan = plan_placement(policy_, network, host_cpu_count());
  for (pid_t pid : agent_pids)
    if (pid > 0)
      if (auto s = pin_process(pid, plan.agent); !s) return s;
  if (network && peer_pid > 0)
    if (auto s = pin_process(peer_pid, plan.peer); !s) return s;
  last_ = kind;
  last_peer_ = peer_pid;
  return {};
}

}  // namespace vbench
