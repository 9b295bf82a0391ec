#pragma once
// A QEMU Machine Protocol client: JSON objects, one per line, over the QMP
// socket. Events ({"event":...}) arriving between commands are skipped;
// replies are bounded in size and time like everything that comes from the
// guest side.
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace vbench {

class QmpClient {
 public:
  QmpClient() = default;
  explicit QmpClient(UniqueFd fd) : fd_(std::move(fd)) {}

  // Reads the greeting and negotiates capabilities; returns the greeting's
  // "QMP" object (it carries QEMU's version).
  Result<nlohmann::json> handshake(double timeout_s);
  // Runs a command and returns its "return" value; an {"error":...} reply is
  // an error carrying QEMU's description.
  Result<nlohmann::json> execute(const std::string& command, const nlohmann::json& arguments = nullptr,
                                 double timeout_s = 10);
  bool connected() const { return static_cast<bool>(fd_); }
  void close() { fd_.reset(); }

 private:
  Result<nlohmann::json> read_message(double timeout_s);
  UniqueFd fd_;
  std::string buf_;
};

}  // namespace vbench
