#include "drivers/agent_channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "agent/protocol.hpp"
#include "core/clock.hpp"
#include "core/deadline.hpp"
#include "core/json.hpp"
#include "workloads/registry.hpp"

namespace vbench {

namespace {
const std::atomic<bool>* g_interrupt = nullptr;
}

void AgentChannel::set_interrupt_flag(const std::atomic<bool>* flag) { g_interrupt = flag; }

AgentChannel::AgentChannel(UniqueFd both) {
  shared_fd_ = both.get();
  in_ = std::move(both);
}

Result<std::string> AgentChannel::read_line(uint64_t deadline, double timeout_s) {
  const int fd = in_.get();
  for (;;) {
    auto nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    if (buf_.size() > kMaxProtocolLine) return make_error("agent sent a line longer than {} bytes", kMaxProtocolLine);
    const uint64_t now = now_ns();
    if (now >= deadline) return make_error("agent did not answer within {:.0f} s", timeout_s);
    if (g_interrupt && g_interrupt->load()) return make_error("interrupted");
    pollfd p{fd, POLLIN, 0};
    int wait_ms = static_cast<int>(std::min<uint64_t>((deadline - now) / 1000000 + 1, 100));
    int rc = poll(&p, 1, wait_ms);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return sys_error("poll agent channel");
    }
    if (rc == 0) continue;
    char chunk[65536];
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return sys_error("read agent channel");
    }
    if (n == 0) return make_error("agent closed the channel (it exited or crashed)");
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

namespace {

// An agent (or a guest) that died must be an error here, not a SIGPIPE for
// the whole harness: sockets get MSG_NOSIGNAL; other descriptors (pipes)
// fall back to write().
Status send_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) return write_all(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write");
    }
    off += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

Result<nlohmann::json> AgentChannel::call(nlohmann::json request, double timeout_s) {
  const uint64_t id = next_id_++;
  request["id"] = id;
  std::string line = dump_json(request) + "\n";
  const int wfd = shared_fd_ >= 0 ? shared_fd_ : out_.get();
  if (auto s = send_all(wfd, line); !s) return s.error().context("send to agent");
  const uint64_t deadline = deadline_after_s(timeout_s);
  for (;;) {
    // One deadline for the whole exchange, checked before every line: a flood
    // of stale replies (already buffered or not) cannot extend the wait.
    const uint64_t now = now_ns();
    if (now >= deadline) return make_error("agent did not answer within {:.0f} s", timeout_s);
    if (g_interrupt && g_interrupt->load()) return make_error("interrupted");
    auto l = read_line(deadline, timeout_s);
    if (!l) return l.error();
    auto parsed = parse_json(*l, JsonLimits{kMaxProtocolLine, kMaxProtocolDepth});
    if (!parsed) return parsed.error().context("agent sent malformed JSON");
    const nlohmann::json& j = *parsed;
    if (!j.is_object()) return make_error("agent sent malformed JSON: not an object");
    // Replies to earlier, abandoned requests are skipped.
    if (j.contains("id") && j["id"].is_number_unsigned() && j["id"].get<uint64_t>() < id) continue;
    if (!j.contains("id") || j["id"] != id) return make_error("agent reply has the wrong id");
    if (!j.contains("ok") || !j["ok"].is_boolean()) return make_error("agent reply lacks boolean `ok`");
    return std::move(*parsed);
  }
}

namespace {

// The identity an agent states in its hello, reduced to the fields vbench
// knows, each typed and bounded: it goes into results and reports.
Result<nlohmann::json> agent_identity_from_reply(const nlohmann::json& a) {
  if (!a.is_object()) return make_error("agent refused hello");
  nlohmann::json id = nlohmann::json::object();
  for (const char* k : {"version", "git_commit", "hostname", "kernel", "machine"}) {
    if (!a.contains(k)) continue;
    if (!a[k].is_string() || a[k].get_ref<const std::string&>().size() > 256)
      return make_error("agent hello: `{}` is not a string of at most 256 bytes", k);
    id[k] = a[k];
  }
  for (const char* k : {"pid", "cpus"}) {
    if (!a.contains(k)) continue;
    if (!a[k].is_number_integer()) return make_error("agent hello: `{}` is not an integer", k);
    id[k] = a[k];
  }
  return id;
}

// The parameters of `req` as the agent resolves them (units normalised,
// defaults filled): what a reply must name. A request the table cannot
// resolve is compared as sent (the agent will fail it anyway).
nlohmann::json expected_params(const WorkloadRequest& req) {
  const WorkloadDef* def = find_workload(req.workload);
  if (!def || !req.params.is_object()) return req.params;
  std::map<std::string, nlohmann::json> given;
  for (const auto& [k, v] : req.params.items()) given[k] = v;
  auto resolved = resolve_params(*def, given);
  return resolved ? resolved->json() : req.params;
}

// Why a sample that an agent returned for `req` cannot be recorded, or empty.
// The agent reports only what it measured inside the environment: the
// workload and parameters it was asked for, its own metrics and counters.
// Environment statistics and host-side counters come from the driver.
std::string reply_mismatch(const WorkloadRequest& req, const Sample& s) {
  if (s.workload != req.workload)
    return fmt::format("agent answered for workload `{}`, not the `{}` asked for", s.workload, req.workload);
  // A failed sample may lack the parameters (the agent could not resolve
  // them, or the workload process died): it measured nothing to misfile.
  const nlohmann::json want = expected_params(req);
  if (s.ok && s.params != want) {
    for (const auto& [k, v] : want.items())
      if (!s.params.contains(k) || s.params[k] != v)
        return fmt::format("agent answered with parameter {}={}, not the {}={} asked for", k,
                           s.params.contains(k) ? dump_json(s.params[k]) : std::string("(missing)"), k, dump_json(v));
    return fmt::format("agent answered with parameters {}, not the {} asked for", params_key(s.params),
                       params_key(want));
  }
  if (!s.env_metrics.empty())
    return fmt::format("agent sent environment metric `{}`: those are measured by the host, not the agent",
                       s.env_metrics.front().name);
  for (const auto& c : s.counters)
    if (c.scope != "agent")
      return fmt::format("agent sent counter `{}` of scope `{}`: only the host measures outside the agent", c.name,
                         c.scope);
  return {};
}

}  // namespace

Result<nlohmann::json> AgentChannel::hello(double timeout_s) {
  auto r = call({{"op", "hello"}}, timeout_s);
  if (!r) return r.error();
  if (!(*r)["ok"].get<bool>() || !r->contains("agent")) return make_error("agent refused hello");
  auto id = agent_identity_from_reply((*r)["agent"]);
  if (!id) return id.error();
  // The identity is recorded once, by the first hello; an agent that later
  // claims to be another is not the one that started.
  if (identity_.is_null())
    identity_ = *id;
  else if (*id != identity_)
    return make_error("agent identity changed since its first hello ({} -> {})", dump_json(identity_), dump_json(*id));
  return identity_;
}

Result<Sample> AgentChannel::run(const WorkloadRequest& req, const std::string& scratch, const std::string& peer) {
  nlohmann::json j = {{"op", "run"},
                      {"workload", req.workload},
                      {"params", req.params},
                      {"counters", req.counters},
                      {"timeout_s", req.timeout_s}};
  if (!scratch.empty()) j["scratch"] = scratch;
  if (!peer.empty()) j["peer"] = peer;
  // The agent enforces timeout_s itself; allow it time to report.
  auto r = call(std::move(j), req.timeout_s + 30);
  if (!r) return r.error();
  Sample failed;
  failed.workload = req.workload;
  failed.params = req.params;
  failed.ok = false;
  if (!(*r)["ok"].get<bool>()) {
    failed.error = r->contains("error") && (*r)["error"].is_string() ? (*r)["error"].get<std::string>()
                                                                     : "agent refused the request";
    return failed;
  }
  if (!r->contains("sample")) return make_error("agent reply lacks `sample`");
  auto s = sample_from_json((*r)["sample"]);
  if (!s) return s.error().context("agent sample");
  if (auto why = reply_mismatch(req, *s); !why.empty()) {
    failed.error = why;
    failed.started_at = s->started_at;
    failed.wall_s = s->wall_s;
    return failed;
  }
  if (!s->ok) s->params = req.params;
  return s;
}

Status AgentChannel::shutdown(double timeout_s) {
  auto r = call({{"op", "shutdown"}}, timeout_s);
  if (!r) return r.error();
  return {};
}

std::string agent_next_to_self() {
  if (const char* env = ::getenv("VBENCH_AGENT"); env && *env) return env;
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string self(buf, static_cast<size_t>(n));
  return self.substr(0, self.rfind('/') + 1) + "vbench-agent";
}

}  // namespace vbench
