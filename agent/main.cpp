// vbench-agent: every workload in one static executable. The same file runs
// as a child process on bare metal, as a container's init and as a guest's
// /init. See agent/protocol.hpp for the protocol it speaks.
#include <fmt/format.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "agent/init.hpp"
#include "agent/protocol.hpp"
#include "core/units.hpp"
#include "workloads/net_peer.hpp"
#include "workloads/registry.hpp"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

void print_human(const vbench::Sample& s) {
  if (!s.ok) {
    fmt::print("{}: FAILED: {}\n", s.workload, s.error);
    return;
  }
  fmt::print("{} ({})\n", s.workload, vbench::params_key(s.params));
  for (const auto& m : s.metrics) fmt::print("  {:<16} {:>14.6g} {}\n", m.name, m.value, m.unit);
  for (const auto& c : s.counters) {
    if (c.value)
      fmt::print("  {:<16} {:>14.6g} (counter)\n", c.name, *c.value);
    else
      fmt::print("  {:<16} {:>14} ({})\n", c.name, c.status, c.reason);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vbench;
  // PID 1 in a guest: do the init duties, then serve the control port.
  if (::getpid() == 1 && argc == 1) return run_as_guest_init();

  CLI::App app{"vbench-agent: runs vbench workloads; speaks the agent protocol"};
  app.require_subcommand(0, 1);

  auto* run = app.add_subcommand("run", "run one workload and print its sample");
  std::string workload;
  std::vector<std::string> params, counters;
  std::string scratch, peer;
  bool json = false;
  run->add_option("workload", workload, "workload name, e.g. mem.bandwidth")->required();
  run->add_option("--param,-p", params, "parameter KEY=VALUE (repeatable)");
  run->add_option("--scratch", scratch, "directory for disk workloads' files");
  run->add_option("--peer", peer, "network peer HOST:PORT (default: start one on loopback)");
  run->add_option("--counters", counters, "perf events to count (comma-separated)")->delimiter(',');
  run->add_flag("--json", json, "print the sample as JSON");

  auto* serve = app.add_subcommand("serve", "be the network peer for net.* workloads");
  PeerOptions peer_opt;
  serve->add_option("--listen", peer_opt.listen, "ADDR:PORT to listen on (port 0 = any)")->capture_default_str();
  serve->add_option("--ready-file", peer_opt.ready_file, "write the bound ADDR:PORT here once listening");

  auto* proto = app.add_subcommand("agent", "serve the agent protocol (default with no arguments)");
  int in_fd = 0, out_fd = 1;
  proto->add_option("--in-fd", in_fd, "read requests from this descriptor");
  proto->add_option("--out-fd", out_fd, "write replies to this descriptor");
  std::string connect_path;
  proto->add_option("--connect", connect_path,
                    "connect to this unix socket and serve the protocol on it (a daemon-run container)");
  bool container_init = false;
  proto->add_flag("--container-init", container_init, "also reap orphans (we are PID 1 of a container)");

  app.add_subcommand("noop", "exit at once (the target of os.exec)");
  auto* list = app.add_subcommand("list", "list workloads and their parameters");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (app.got_subcommand("noop")) return 0;
  if (*list) {
    for (const auto& w : all_workloads()) {
      fmt::print("{:<16} {}\n", w.name, w.description);
      for (const auto& p : w.params)
        fmt::print("    {:<12} {:<8} default {:<10} {}\n", p.name, to_string(p.type), p.default_value, p.help);
    }
    return 0;
  }
  if (*serve) return run_net_peer(peer_opt, &g_stop);
  if (*run) {
    RunRequest req;
    req.workload = workload;
    for (const auto& kv : params) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        fmt::print(stderr, "vbench-agent: --param `{}`: expected KEY=VALUE\n", kv);
        return 2;
      }
      req.params[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    req.scratch = scratch;
    req.counters = counters;
    const WorkloadDef* def = find_workload(workload);
    if (!def) {
      fmt::print(stderr, "vbench-agent: unknown workload `{}` (see `vbench-agent list`)\n", workload);
      return 2;
    }
    std::map<std::string, nlohmann::json> given;
    for (const auto& [k, v] : req.params.items()) given[k] = v;
    if (auto p = resolve_params(*def, given); !p) {
      fmt::print(stderr, "vbench-agent: {}\n", p.error().message);
      return 2;
    }
    // Without --peer, a net workload gets a peer of its own on loopback.
    PeerProcess local;
    if (def->needs_peer && peer.empty()) {
      auto addr = local.start(self_exe(), "127.0.0.1:0");
      if (!addr) {
        fmt::print(stderr, "vbench-agent: {}\n", addr.error().message);
        return 1;
      }
      peer = *addr;
    }
    req.peer = peer;
    Sample s = run_workload_isolated(req, &g_stop);
    if (json)
      std::cout << dump_json(to_json(s), 2) << std::endl;
    else
      print_human(s);
    return s.ok ? 0 : 1;
  }
  // Default: the agent protocol on stdin/stdout (or the given descriptors).
  if (container_init) start_reaper();
  if (!connect_path.empty()) {
    // A container started by a daemon (Docker) has no descriptor of
    // vbench's: the harness listens on a socket bind-mounted into it.
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (connect_path.size() >= sizeof addr.sun_path) {
      fmt::print(stderr, "vbench-agent: --connect `{}`: path too long\n", connect_path);
      return 2;
    }
    connect_path.copy(addr.sun_path, connect_path.size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      fmt::print(stderr, "vbench-agent: connect `{}`: {}\n", connect_path, std::strerror(errno));
      return 1;
    }
    in_fd = out_fd = fd;
  }
  return serve_protocol(in_fd, out_fd);
}
