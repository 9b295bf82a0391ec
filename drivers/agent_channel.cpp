#include "drivers/agent_channel.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/protocol.hpp"
#include "core/clock.hpp"

namespace vbench {

namespace {
const std::atomic<bool>* g_interrupt = nullptr;
}

void AgentChannel::set_interrupt_flag(const std::atomic<bool>* flag) { g_interrupt = flag; }

AgentChannel::AgentChannel(UniqueFd both) {
  shared_fd_ = both.get();
  in_ = std::move(both);
}

Result<std::string> AgentChannel::read_line(double timeout_s) {
  const int fd = in_.get();
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
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
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
  for (;;) {
    double left = static_cast<double>(deadline - std::min(deadline, now_ns())) / 1e9;
    auto l = read_line(std::max(left, 0.001));
    if (!l) return l.error();
    auto j = nlohmann::json::parse(*l, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return make_error("agent sent malformed JSON");
    // Replies to earlier, abandoned requests are skipped.
    if (j.contains("id") && j["id"].is_number_unsigned() && j["id"].get<uint64_t>() < id) continue;
    if (!j.contains("id") || j["id"] != id) return make_error("agent reply has the wrong id");
    if (!j.contains("ok") || !j["ok"].is_boolean()) return make_error("agent reply lacks boolean `ok`");
    return j;
  }
}

Result<nlohmann::json> AgentChannel::hello(double timeout_s) {
  auto r = call({{"op", "hello"}}, timeout_s);
  if (!r) return r.error();
  if (!(*r)["ok"].get<bool>() || !r->contains("agent") || !(*r)["agent"].is_object())
    return make_error("agent refused hello");
  return (*r)["agent"];
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
  if (!(*r)["ok"].get<bool>()) {
    Sample s;
    s.workload = req.workload;
    s.params = req.params;
    s.ok = false;
    s.error = r->contains("error") && (*r)["error"].is_string() ? (*r)["error"].get<std::string>()
                                                                : "agent refused the request";
    return s;
  }
  if (!r->contains("sample")) return make_error("agent reply lacks `sample`");
  auto s = sample_from_json((*r)["sample"]);
  if (!s) return s.error().context("agent sample");
  return s;
}

Status AgentChannel::shutdown(double timeout_s) {
  auto r = call({{"op", "shutdown"}}, timeout_s);
  if (!r) return r.error();
  return {};
}

}  // namespace vbench
