#include "drivers/kvm/qmp.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.hpp"
#include "core/deadline.hpp"
#include "core/json.hpp"

namespace vbench {

namespace {
constexpr size_t kMaxQmpMessage = 4 << 20;
}

Result<nlohmann::json> QmpClient::read_message(double timeout_s) {
  if (!fd_) return make_error("QMP: not connected");
  const uint64_t deadline = deadline_after_s(timeout_s);
  for (;;) {
    auto nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      auto j = parse_json(line, JsonLimits{kMaxQmpMessage, 64});
      if (!j) return j.error().context("QMP: malformed message");
      if (!j->is_object()) return make_error("QMP: malformed message: not an object");
      return j;
    }
    if (buf_.size() > kMaxQmpMessage) return make_error("QMP: message larger than {} bytes", kMaxQmpMessage);
    const uint64_t now = now_ns();
    if (now >= deadline) return make_error("QMP: no reply within {:.0f} s", timeout_s);
    pollfd p{fd_.get(), POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(std::min<uint64_t>((deadline - now) / 1000000 + 1, 1000)));
    if (rc < 0 && errno != EINTR) return sys_error("QMP: poll");
    if (rc <= 0) continue;
    char chunk[65536];
    ssize_t n = ::read(fd_.get(), chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return sys_error("QMP: read");
    }
    if (n == 0) return make_error("QMP: QEMU closed the connection");
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

Result<nlohmann::json> QmpClient::handshake(double timeout_s) {
  auto greeting = read_message(timeout_s);
  if (!greeting) return greeting.error();
  if (!greeting->contains("QMP")) return make_error("QMP: expected a greeting, got {}", greeting->dump());
  auto caps = execute("qmp_capabilities", nullptr, timeout_s);
  if (!caps) return caps.error();
  return (*greeting)["QMP"];
}

Result<nlohmann::json> QmpClient::execute(const std::string& command, const nlohmann::json& arguments,
                                          double timeout_s) {
  nlohmann::json req = {{"execute", command}};
  if (!arguments.is_null()) req["arguments"] = arguments;
  const std::string line = req.dump() + "\n";
  // MSG_NOSIGNAL: a QEMU that died is an error, not a SIGPIPE.
  for (size_t off = 0; off < line.size();) {
    ssize_t n = ::send(fd_.get(), line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("QMP " + command + ": send");
    off += static_cast<size_t>(n);
  }
  const uint64_t deadline = deadline_after_s(timeout_s);
  for (;;) {
    // Checked before every message, so a flood of events cannot extend the wait.
    const uint64_t now = now_ns();
    if (now >= deadline) return make_error("QMP {}: no reply within {:.0f} s", command, timeout_s);
    const double left = static_cast<double>(deadline - now) / 1e9;
    auto msg = read_message(left);
    if (!msg) return msg.error().context("QMP " + command);
    if (msg->contains("event")) continue;
    if (msg->contains("error")) {
      const auto& e = (*msg)["error"];
      std::string desc =
          e.is_object() && e.contains("desc") && e["desc"].is_string() ? e["desc"].get<std::string>() : e.dump();
      return make_error("QMP {}: {}", command, desc);
    }
    if (msg->contains("return")) return (*msg)["return"];
    return make_error("QMP {}: unexpected reply {}", command, msg->dump());
  }
}

}  // namespace vbench
