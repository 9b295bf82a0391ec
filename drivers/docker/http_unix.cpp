#include "drivers/docker/http_unix.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"

namespace vbench {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Result<std::string> dechunk(const std::string& in) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t eol = in.find("\r\n", pos);
    if (eol == std::string::npos) return make_error("chunked body: no chunk size line");
    const std::string size_text = in.substr(pos, eol - pos);
    char* end = nullptr;
    const unsigned long long n = std::strtoull(size_text.c_str(), &end, 16);
    if (end == size_text.c_str()) return make_error("chunked body: bad chunk size `{}`", size_text.substr(0, 20));
    pos = eol + 2;
    if (n == 0) return out;
    if (n > in.size() - pos) return make_error("chunked body: chunk of {} bytes past the end", n);
    out.append(in, pos, n);
    pos += n;
    if (in.compare(pos, 2, "\r\n") != 0) return make_error("chunked body: chunk not followed by CRLF");
    pos += 2;
  }
}

}  // namespace

Result<HttpResponse> parse_http_response(const std::string& raw) {
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return make_error("HTTP reply without the end of its headers");
  HttpResponse r;
  const size_t first_eol = raw.find("\r\n");
  const std::string status_line = raw.substr(0, first_eol);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12)
    return make_error("not an HTTP reply: `{}`", status_line.substr(0, 40));
  r.status = std::atoi(status_line.c_str() + 9);
  if (r.status < 100 || r.status > 599) return make_error("HTTP reply with status `{}`", status_line.substr(0, 40));
  size_t pos = first_eol + 2;
  while (pos < head_end) {
    size_t eol = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, eol - pos);
    pos = eol + 2;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t v = colon + 1;
    while (v < line.size() && line[v] == ' ') ++v;
    r.headers[lower(line.substr(0, colon))] = line.substr(v);
  }
  std::string body = raw.substr(head_end + 4);
  if (auto te = r.headers.find("transfer-encoding"); te != r.headers.end() && lower(te->second) == "chunked") {
    auto d = dechunk(body);
    if (!d) return d.error();
    r.body = std::move(*d);
  } else if (auto cl = r.headers.find("content-length"); cl != r.headers.end()) {
    const size_t n = std::strtoull(cl->second.c_str(), nullptr, 10);
    if (n > body.size()) return make_error("HTTP reply cut short ({} of {} bytes)", body.size(), n);
    r.body = body.substr(0, n);
  } else {
    r.body = std::move(body);
  }
  return r;
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

Result<HttpResponse> UnixHttpClient::request(const std::string& method, const std::string& target,
                                             const std::string& body, const std::string& content_type, double timeout_s,
                                             size_t max_reply) const {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_.size() >= sizeof addr.sun_path) return make_error("socket path `{}` too long", socket_);
  socket_.copy(addr.sun_path, socket_.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return sys_error(fmt::format("connect `{}`", socket_));
  std::string req =
      fmt::format("{} {} HTTP/1.1\r\nHost: docker\r\nUser-Agent: vbench\r\nConnection: close\r\n", method, target);
  if (!body.empty() || method == "POST" || method == "PUT")
    req += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n", content_type, body.size());
  req += "\r\n";
  if (auto s = write_all(fd.get(), req.data(), req.size()); !s) return s.error().context(method + " " + target);
  if (!body.empty())
    if (auto s = write_all(fd.get(), body.data(), body.size()); !s) return s.error().context(method + " " + target);
  std::string raw;
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_s * 1e9);
  char buf[65536];
  while (true) {
    const uint64_t now = now_ns();
    if (now >= deadline) return make_error("{} {}: no complete reply within {:.0f} s", method, target, timeout_s);
    pollfd p{fd.get(), POLLIN, 0};
    const int left_ms = static_cast<int>(std::min<uint64_t>((deadline - now) / 1000000 + 1, 100));
    const int pr = ::poll(&p, 1, left_ms);
    if (pr < 0 && errno != EINTR) return sys_error("poll");
    if (pr <= 0) continue;
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(fmt::format("{} {}: read", method, target));
    }
    if (n == 0) break;
    raw.append(buf, static_cast<size_t>(n));
    if (raw.size() > max_reply) return make_error("{} {}: reply over {} bytes", method, target, max_reply);
  }
  auto r = parse_http_response(raw);
  if (!r) return r.error().context(method + " " + target);
  return r;
}

Result<nlohmann::json> UnixHttpClient::call(const std::string& method, const std::string& target,
                                            const nlohmann::json& body, double timeout_s) const {
  auto r = request(method, target, body.is_null() ? "" : body.dump(), "application/json", timeout_s);
  if (!r) return r.error();
  nlohmann::json j = nullptr;
  if (!r->body.empty()) {
    // Bounded like every reply vbench reads (the body already is, by request's max_reply).
    auto parsed = parse_json(r->body, JsonLimits{r->body.size(), 64});
    if (parsed)
      j = std::move(*parsed);
    else if (is_syntax_error(parsed.error()))
      j = r->body;  // plain text (e.g. "OK" from /_ping)
    else
      return parsed.error().context(fmt::format("{} {}: reply", method, target));
  }
  if (r->status < 200 || r->status > 299) {
    std::string msg = j.is_object() && j.contains("message") && j["message"].is_string()
                          ? j["message"].get<std::string>()
                          : r->body.substr(0, 300);
    return make_error("{} {}: HTTP {}: {}", method, target, r->status, msg);
  }
  return j;
}

}  // namespace vbench
