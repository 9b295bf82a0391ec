#pragma once
// Headless Chromium for the report tests, driven over the DevTools protocol
// (--remote-debugging-pipe: NUL-terminated JSON messages, commands on fd 3,
// replies and events on fd 4). It records what a page logs, throws and
// requests, evaluates JavaScript in it and takes screenshots.
//
// Why the protocol and not `chromium --headless --screenshot
// --enable-logging=stderr --log-net-log=FILE`: that was tried first against a
// deliberately broken page. Its stderr does show console messages, uncaught
// exceptions, CSP violations and SVG attribute errors (as "CONSOLE" lines,
// without their level), but a failed load of a local file (<img
// src="missing.png">) leaves no trace at all; and the net log lists no
// file:// subresource while it is full of the browser's own update and
// account requests. Over the protocol, Network.requestWillBeSent names every
// request of the page (file:// included), Log.entryAdded every failed load,
// CSP violation and rendering error with its level, Runtime.* every console
// call and exception. The test "the Chromium harness sees everything a
// broken page does" keeps that claim honest.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support.hpp"

namespace vbtest {

// The chromium executable on PATH, or "".
inline std::string chromium_path() {
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t colon = dirs.find(':', pos);
    const std::string dir = dirs.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    for (const char* name : {"chromium", "chromium-browser"}) {
      std::string p = dir + "/" + name;
      if (!dir.empty() && access(p.c_str(), X_OK) == 0) return p;
    }
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return "";
}

inline std::string base64_decode(const std::string& in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = val(c);
    if (v < 0) continue;  // padding, line breaks
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

struct PageEvents {
  std::vector<std::string> console;     // every console API call, "type: text"
  std::vector<std::string> exceptions;  // uncaught exceptions
  std::vector<std::string> log;         // browser log entries at warning or error level
  std::vector<std::string> requests;    // every URL the page requested, itself included
};

class Chromium {
 public:
  Chromium() {
    signal(SIGPIPE, SIG_IGN);  // a dead browser must fail a test, not kill it
    const std::string exe = chromium_path();
    if (exe.empty()) {
      error_ = "chromium not found on PATH (Debian package `chromium`, installed by ci/bootstrap)";
      return;
    }
    int to_browser[2], from_browser[2];
    if (pipe2(to_browser, O_CLOEXEC) != 0 || pipe2(from_browser, O_CLOEXEC) != 0) {
      error_ = "pipe failed";
      return;
    }
    const std::string profile = "--user-data-dir=" + profile_.path;
    const std::string log = profile_.path + "/chromium.log";
    pid_ = fork();
    if (pid_ == 0) {
      setsid();  // its own process group, so that its helpers can be ended with it
      // Move the pipe ends out of the way before putting them on fds 3 and 4.
      const int in = fcntl(to_browser[0], F_DUPFD, 10), out = fcntl(from_browser[1], F_DUPFD, 10);
      dup2(in, 3);
      dup2(out, 4);
      const int logfd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (logfd >= 0) {
        dup2(logfd, 1);
        dup2(logfd, 2);
      }
      execl(exe.c_str(), exe.c_str(), "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
            "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions", "--hide-scrollbars",
            profile.c_str(), "about:blank", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(to_browser[0]);
    close(from_browser[1]);
    if (pid_ < 0) {
      close(to_browser[1]);
      close(from_browser[0]);
      error_ = "fork failed";
      return;
    }
    write_fd_ = to_browser[1];
    read_fd_ = from_browser[0];
    auto target = call("Target.createTarget", {{"url", "about:blank"}}, false);
    if (!target.contains("targetId")) {
      error_ = "chromium did not answer Target.createTarget: " + target.dump() + "; log: " + log_tail();
      return;
    }
    auto attached = call("Target.attachToTarget", {{"targetId", target["targetId"]}, {"flatten", true}}, false);
    if (!attached.contains("sessionId")) {
      error_ = "Target.attachToTarget: " + attached.dump();
      return;
    }
    session_ = attached["sessionId"].get<std::string>();
    for (const char* domain : {"Runtime.enable", "Log.enable", "Network.enable", "Page.enable"}) call(domain, {});
  }

  ~Chromium() {
    if (write_fd_ >= 0) {
      send("Browser.close", nlohmann::json::object(), false);
      close(write_fd_);
    }
    if (pid_ > 0) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      int status = 0;
      while (waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          kill(-pid_, SIGKILL);  // the group setsid() made: this browser and its helpers
          waitpid(pid_, &status, 0);
          break;
        }
        usleep(50 * 1000);
      }
    }
    if (read_fd_ >= 0) close(read_fd_);
  }

  Chromium(const Chromium&) = delete;
  Chromium& operator=(const Chromium&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  PageEvents& events() { return events_; }

  // Loads url in a width × height viewport and waits for its load event, then
  // half a second more for late events.
  bool open(const std::string& url, int width, int height) {
    call("Emulation.setDeviceMetricsOverride",
         {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", false}});
    loaded_ = false;
    auto nav = call("Page.navigate", {{"url", url}});
    if (!nav.contains("frameId") || nav.contains("errorText")) {
      error_ = "Page.navigate " + url + ": " + nav.dump();
      return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!loaded_ && std::chrono::steady_clock::now() < deadline) pump(200);
    if (!loaded_) {
      error_ = "no load event from " + url;
      return false;
    }
    settle(500);
    return true;
  }

  // Reads events for ms milliseconds.
  void settle(int ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < deadline) pump(50);
  }

  // The value of a JavaScript expression (null when it threw: the exception
  // is recorded in events().exceptions).
  nlohmann::json eval(const std::string& expression) {
    auto r = call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}});
    if (r.contains("exceptionDetails")) {
      events_.exceptions.push_back("evaluate `" + expression + "`: " + r["exceptionDetails"].dump());
      return nullptr;
    }
    return r.contains("result") && r["result"].contains("value") ? r["result"]["value"] : nlohmann::json();
  }

  // PNG of the top width × height pixels of the page.
  std::string screenshot(int width, int height) {
    auto r = call("Page.captureScreenshot",
                  {{"format", "png"},
                   {"captureBeyondViewport", true},
                   {"clip", {{"x", 0}, {"y", 0}, {"width", width}, {"height", height}, {"scale", 1}}}});
    return r.contains("data") && r["data"].is_string() ? base64_decode(r["data"].get<std::string>()) : "";
  }

  std::string log_tail() const {
    auto text = run_command("tail -c 2000 '" + profile_.path + "/chromium.log'");
    return text.out;
  }

 private:
  int send(const std::string& method, const nlohmann::json& params, bool in_session) {
    nlohmann::json m = {{"id", ++next_id_}, {"method", method}, {"params", params}};
    if (in_session && !session_.empty()) m["sessionId"] = session_;
    std::string text = m.dump();
    text.push_back('\0');
    for (size_t off = 0; off < text.size();) {
      const ssize_t n = write(write_fd_, text.data() + off, text.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    return next_id_;
  }

  // Sends a command and waits (up to 30 s) for its result, recording the
  // events that arrive meanwhile. An error reply comes back as {"error": ...}.
  nlohmann::json call(const std::string& method, const nlohmann::json& params, bool in_session = true) {
    if (write_fd_ < 0) return {{"error", "no browser"}};
    const int id = send(method, params.is_null() ? nlohmann::json::object() : params, in_session);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      auto it = replies_.find(id);
      if (it != replies_.end()) {
        nlohmann::json r = std::move(it->second);
        replies_.erase(it);
        if (r.contains("error")) return {{"error", r["error"]}};
        return r.contains("result") ? r["result"] : nlohmann::json::object();
      }
      if (!pump(200)) break;
    }
    return {{"error", "no reply to " + method}};
  }

  // Reads what is there (waiting up to ms); false when the browser is gone.
  bool pump(int ms) {
    pollfd p{read_fd_, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return true;
    char buf[65536];
    const ssize_t n = read(read_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    size_t nul;
    while ((nul = buffer_.find('\0')) != std::string::npos) {
      auto msg = nlohmann::json::parse(buffer_.substr(0, nul), nullptr, false);
      buffer_.erase(0, nul + 1);
      if (msg.is_object()) handle(msg);
    }
    return true;
  }

  void handle(const nlohmann::json& m) {
    if (m.contains("id") && m["id"].is_number_integer()) {
      replies_[m["id"].get<int>()] = m;
      return;
    }
    const std::string method = m.value("method", "");
    const auto& p = m.contains("params") ? m["params"] : nlohmann::json::object();
    if (method == "Page.loadEventFired") {
      loaded_ = true;
    } else if (method == "Runtime.consoleAPICalled") {
      std::string text = p.value("type", "?") + ":";
      for (const auto& a : p.value("args", nlohmann::json::array()))
        text +=
            " " + (a.contains("value") ? (a["value"].is_string() ? a["value"].get<std::string>() : a["value"].dump())
                                       : a.value("description", a.value("type", "")));
      events_.console.push_back(text);
    } else if (method == "Runtime.exceptionThrown") {
      const auto& d = p.value("exceptionDetails", nlohmann::json::object());
      std::string text = d.value("text", "exception");
      if (d.contains("exception")) text += " " + d["exception"].value("description", "");
      events_.exceptions.push_back(text);
    } else if (method == "Log.entryAdded") {
      const auto& e = p.value("entry", nlohmann::json::object());
      const std::string level = e.value("level", "");
      if (level == "error" || level == "warning")
        events_.log.push_back(level + ": " + e.value("text", "") + " (" + e.value("url", "") + ")");
    } else if (method == "Network.requestWillBeSent") {
      if (p.contains("request")) events_.requests.push_back(p["request"].value("url", ""));
    }
  }

  TempDir profile_;
  pid_t pid_ = -1;
  int write_fd_ = -1, read_fd_ = -1;
  int next_id_ = 0;
  std::string session_;
  std::string buffer_;
  std::map<int, nlohmann::json> replies_;
  bool loaded_ = false;
  PageEvents events_;
  std::string error_;
};

// What the report tests share: a page's URL, the check that it did nothing a
// report must never do, where screenshots are kept, and PNG header reading.
inline std::string file_url(const std::string& path) {
  char buf[4096];
  const std::string abs = path[0] == '/' ? path : std::string(getcwd(buf, sizeof buf)) + "/" + path;
  return "file://" + abs;
}

// Everything the page did that a report must never do.
inline void check_quiet(Chromium& c, const std::string& url) {
  auto& ev = c.events();
  for (const auto& m : ev.console) FAIL_CHECK("console: " << m);
  for (const auto& m : ev.exceptions) FAIL_CHECK("exception: " << m);
  for (const auto& m : ev.log) FAIL_CHECK("browser log: " << m);
  for (const auto& u : ev.requests)
    if (u != url && u.rfind("data:", 0) != 0) FAIL_CHECK("request: " << u);
}

// Where a test keeps what people may want to look at afterwards: next to the
// binaries, replaced on every run.
inline std::string artifacts_dir(const std::string& name) {
  const std::string bin = vbench_bin();
  return bin.substr(0, bin.rfind('/')) + "/test-artifacts/" + name;
}

inline uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t{static_cast<uint8_t>(s[at])} << 24) | (uint32_t{static_cast<uint8_t>(s[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[at + 2])} << 8) | uint32_t{static_cast<uint8_t>(s[at + 3])};
}

}  // namespace vbtest
