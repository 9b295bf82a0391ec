#include "agent/protocol.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "agent/reaper.hpp"
#include "core/clock.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
#include "core/version.hpp"
#include "counters/counters.hpp"
#include "workloads/registry.hpp"

namespace vbench {

nlohmann::json agent_identity() {
  utsname u{};
  uname(&u);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return {{"version", kVersion},
          {"git_commit", kGitCommit},
          {"pid", ::getpid()},
          {"hostname", host},
          {"kernel", std::string(u.release)},
          {"machine", std::string(u.machine)},
          {"cpus", static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN))}};
}

Sample run_workload_here(const RunRequest& req, const std::atomic<bool>* stop) {
  Sample s;
  s.workload = req.workload;
  s.started_at = utc_timestamp(true);
  const uint64_t t0 = now_ns();
  auto fail = [&](const std::string& msg) {
    s.ok = false;
    s.error = msg;
    s.wall_s = static_cast<double>(now_ns() - t0) / 1e9;
    return s;
  };
  const WorkloadDef* def = find_workload(req.workload);
  if (!def) return fail(fmt::format("unknown workload `{}`", req.workload));
  if (!req.params.is_object()) return fail("`params` must be an object");
  std::map<std::string, nlohmann::json> given;
  for (const auto& [k, v] : req.params.items()) given[k] = v;
  auto params = resolve_params(*def, given);
  if (!params) return fail(params.error().message);
  s.params = params->json();
  if (def->needs_scratch && req.scratch.empty())
    return fail(fmt::format("{} needs a scratch directory (--scratch)", def->name));
  if (def->needs_peer && req.peer.empty())
    return fail(fmt::format("{} needs a network peer (--peer HOST:PORT)", def->name));

  auto counters = RegionCounters::create(req.counters);
  if (!counters) return fail(counters.error().message);
  WorkloadContext ctx;
  ctx.params = *params;
  ctx.scratch_dir = req.scratch;
  ctx.peer = req.peer;
  ctx.online_cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  ctx.region = counters->get();
  ctx.stop = stop;
  auto out = def->run(ctx);
  s.wall_s = static_cast<double>(now_ns() - t0) / 1e9;
  s.counters = (*counters)->readings();
  if (!out) return fail(out.error().message);
  s.metrics = std::move(out->metrics);
  // IPC, miss rates and MPKI travel as metrics, so statistics and ratios to
  // the baseline treat them like any other; only "ok" inputs give any.
  for (auto& m : derived_counter_metrics(s.counters)) s.metrics.push_back(std::move(m));
  s.histograms = std::move(out->histograms);
  return s;
}

namespace {

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    std::string why = fmt::format("workload process killed by signal {} ({})", sig, strsignal(sig));
    if (sig == SIGKILL) why += "; out of memory or a memory limit is the usual cause";
    return why;
  }
  return fmt::format("workload process exited with status {} without a result", WEXITSTATUS(status));
}

}  // namespace

namespace {
bool g_trace = false;  // set by serve_protocol(trace = true): a guest's console shows each step
}  // namespace

Sample run_workload_isolated(const RunRequest& req, const std::atomic<bool>* stop) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    Sample s;
    s.workload = req.workload;
    s.ok = false;
    s.error = sys_error("pipe").message;
    return s;
  }
  const uint64_t t0 = now_ns();
  pid_t pid = fork_workload_child();
  if (pid == 0) {
    ::close(fds[0]);
    // Die with the agent: a workload must never outlive the one who asked.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    Sample s = run_workload_here(req, nullptr);
    std::string line = dump_json(to_json(s));
    (void)write_all(fds[1], line.data(), line.size());
    _exit(0);
  }
  ::close(fds[1]);
  if (g_trace) fmt::print(stderr, "vbench-init: {} runs in child {}\n", req.workload, pid);
  UniqueFd rd(fds[0]);
  Sample failed;
  failed.workload = req.workload;
  failed.ok = false;
  if (pid < 0) {
    failed.error = sys_error("fork").message;
    return failed;
  }
  std::string data;
  char buf[65536];
  bool timed_out = false, interrupted = false;
  for (;;) {
    pollfd p{rd.get(), POLLIN, 0};
    int rc = poll(&p, 1, 100);
    if (rc < 0 && errno != EINTR) break;
    if (stop && stop->load()) {
      interrupted = true;
      break;
    }
    if (req.timeout_s > 0 && static_cast<double>(now_ns() - t0) / 1e9 > req.timeout_s) {
      timed_out = true;
      break;
    }
    if (rc <= 0) continue;
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxProtocolLine) break;
  }
  if (timed_out || interrupted) ::kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  workload_child_reaped(pid);
  if (g_trace)
    fmt::print(stderr, "vbench-init: child {} collected ({}), {} bytes of result{}\n", pid, describe_status(status),
               data.size(), timed_out ? ", timed out" : "");
  failed.wall_s = static_cast<double>(now_ns() - t0) / 1e9;
  if (timed_out) {
    failed.error = fmt::format("workload timed out after {:.0f} s", req.timeout_s);
    return failed;
  }
  if (interrupted) {
    failed.error = "interrupted";
    return failed;
  }
  if (data.empty()) {
    failed.error = describe_status(status);
    return failed;
  }
  auto j = parse_json(data, JsonLimits{kMaxProtocolLine, kMaxProtocolDepth});
  if (!j) {
    failed.error = "workload process wrote a malformed result: " + j.error().message;
    return failed;
  }
  auto s = sample_from_json(*j);
  if (!s) {
    failed.error = s.error().message;
    return failed;
  }
  return std::move(*s);
}

Result<RunRequest> parse_run_request(const nlohmann::json& j) {
  RunRequest req;
  auto str = [&](const char* k, std::string& dst) -> bool {
    if (!j.contains(k)) return true;
    if (!j[k].is_string()) return false;
    dst = j[k];
    return true;
  };
  bool good = j.is_object() && str("workload", req.workload) && str("scratch", req.scratch) && str("peer", req.peer);
  if (good && j.contains("params")) req.params = j["params"];
  if (good && j.contains("timeout_s") && j["timeout_s"].is_number()) req.timeout_s = j["timeout_s"];
  if (good && j.contains("counters")) {
    if (!j["counters"].is_array())
      good = false;
    else
      for (const auto& c : j["counters"]) {
        if (!c.is_string())
          good = false;
        else
          req.counters.push_back(c);
      }
  }
  if (!good || req.workload.empty())
    return make_error(
        "malformed run request: `workload` (string) required; `scratch`, `peer` strings; "
        "`counters` array of strings");
  return req;
}

std::string handle_request_line(const std::string& line, bool* shutdown) {
  nlohmann::json reply;
  auto parsed = parse_json(line, JsonLimits{kMaxProtocolLine, kMaxProtocolDepth});
  if (!parsed || !parsed->is_object()) {
    reply = {{"id", nullptr},
             {"ok", false},
             {"error", "malformed request: " + (parsed ? std::string("not a JSON object") : parsed.error().message)}};
    return dump_json(reply);
  }
  const nlohmann::json& j = *parsed;
  reply["id"] = j.contains("id") ? j["id"] : nlohmann::json(nullptr);
  if (!j.contains("op") || !j["op"].is_string()) {
    reply["ok"] = false;
    reply["error"] = "malformed request: missing string field `op`";
    return dump_json(reply);
  }
  const std::string op = j["op"];
  if (op == "hello") {
    reply["ok"] = true;
    reply["agent"] = agent_identity();
  } else if (op == "list") {
    reply["ok"] = true;
    auto& ws = reply["workloads"] = nlohmann::json::array();
    for (const auto& w : all_workloads()) ws.push_back(w.name);
  } else if (op == "shutdown") {
    reply["ok"] = true;
    *shutdown = true;
  } else if (op == "run") {
    auto req = parse_run_request(j);
    if (!req) {
      reply["ok"] = false;
      reply["error"] = req.error().message;
    } else {
      reply["ok"] = true;
      reply["sample"] = to_json(run_workload_isolated(*req, nullptr));
    }
  } else {
    reply["ok"] = false;
    reply["error"] = fmt::format("unknown op `{}` (hello, run, list, shutdown)", op);
  }
  return dump_json(reply);
}

int serve_protocol(int in_fd, int out_fd, bool trace) {
  g_trace = trace;
  std::string buf;
  char chunk[65536];
  bool shutdown = false, discarding = false;
  while (!shutdown) {
    ssize_t n = ::read(in_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::string_view data(chunk, static_cast<size_t>(n));
    if (discarding) {  // the rest of an over-long line, up to its newline
      auto nl = data.find('\n');
      if (nl == std::string_view::npos) continue;
      data.remove_prefix(nl + 1);
      discarding = false;
    }
    buf.append(data);
    size_t nl;
    while (!shutdown && (nl = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (line.empty() || line == "\r") continue;
      if (g_trace) fmt::print(stderr, "vbench-init: request {}\n", line.substr(0, 160));
      std::string reply = handle_request_line(line, &shutdown) + "\n";
      if (g_trace) fmt::print(stderr, "vbench-init: replying with {} bytes\n", reply.size());
      if (!write_all(out_fd, reply.data(), reply.size())) return 1;
      if (g_trace) fmt::print(stderr, "vbench-init: replied\n");
    }
    if (buf.size() > kMaxProtocolLine) {
      buf.clear();
      discarding = true;
      std::string reply =
          dump_json(nlohmann::json{{"id", nullptr},
                                   {"ok", false},
                                   {"error", fmt::format("request line longer than {} bytes", kMaxProtocolLine)}}) +
          "\n";
      if (!write_all(out_fd, reply.data(), reply.size())) return 1;
    }
  }
  return 0;
}

}  // namespace vbench
