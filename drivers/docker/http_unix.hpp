#pragma once
// A small HTTP/1.1 client over a unix socket: enough for the Docker Engine
// API (and Podman's Docker-compatible one). One request per connection
// (`Connection: close`), a bounded wait and a bounded reply, chunked replies
// decoded. What the daemon sends back is untrusted input like any agent's.
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"

namespace vbench {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // de-chunked
};

// Parses a complete HTTP/1.1 response (status line, headers, body by
// Content-Length, chunked, or up to the end). Exposed for tests.
Result<HttpResponse> parse_http_response(const std::string& raw);

// Percent-encodes a query value.
std::string url_encode(const std::string& s);

class UnixHttpClient {
 public:
  explicit UnixHttpClient(std::string socket_path) : socket_(std::move(socket_path)) {}
  const std::string& socket_path() const { return socket_; }

  Result<HttpResponse> request(const std::string& method, const std::string& target, const std::string& body = "",
                               const std::string& content_type = "application/json", double timeout_s = 60,
                               size_t max_reply = 64u << 20) const;

  // A JSON request whose reply must be 2xx; the daemon's "message" is the
  // error otherwise. An empty reply body is null.
  Result<nlohmann::json> call(const std::string& method, const std::string& target,
                              const nlohmann::json& body = nullptr, double timeout_s = 60) const;

 private:
  std::string socket_;
};

}  // namespace vbench
