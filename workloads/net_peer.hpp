#pragma once
// The network peer that net.* workloads talk to (`vbench-agent serve`). It
// runs outside the environment being measured: on the host, bound to the
// host side of the environment's link (loopback for bare).
//
// It listens on one address and port for both TCP and UDP.
//
// UDP: every datagram (up to 65507 bytes) is sent back unchanged to its sender.
//
// TCP: the client's first byte selects the mode of the connection.
//   'S'  sink: the peer reads and discards everything until EOF, then closes
//        (net.tcp_stream; the close tells the client the sink has read it all).
//   'R'  request/response (net.tcp_rr): then an 8-byte header, request size
//        and response size, each a big-endian uint32 in [1, kPeerMaxMessage].
//        From then on, whenever the peer has received `request size` bytes
//        (contents ignored) it sends `response size` bytes (zeros) back,
//        until EOF. The connection is expected to live long: the peer gives
//        it a thread of its own with blocking I/O (up to 64 such threads).
//   'E'  the same, for a short-lived connection (net.tcp_crr): served by
//        the peer's event loops, no thread is created for it.
//   In both, a client may send the header and its first request in one write.
// Anything else (unknown mode, a size out of range) closes the connection;
// so do errors, EOF, and 60 s without traffic. At most kPeerMaxConnections
// are served at once; the ones beyond are closed at once. Memory per
// connection is constant (requests are counted, not stored).
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "core/error.hpp"

namespace vbench {

constexpr char kPeerModeSink = 'S';
constexpr char kPeerModeEcho = 'E';             // short-lived request/response
constexpr char kPeerModePersistent = 'R';       // long-lived request/response
constexpr uint32_t kPeerMaxMessage = 1u << 20;  // 1 MiB
constexpr int kPeerMaxConnections = 1024;

struct PeerOptions {
  std::string listen = "127.0.0.1:0";  // ADDR:PORT; port 0 = pick one
  std::string ready_file;              // if set, the bound "ADDR:PORT" is written here (atomically)
  bool print_address = true;           // print "listening ADDR:PORT" on stdout once bound
  // Called once the sockets are bound and served, with the actual "ADDR:PORT".
  std::function<void(const std::string&)> on_ready;
};

// An IPv4 or IPv6 literal with a port: "127.0.0.1:5201", "[::1]:5201". No name
// lookup: the agent is static, and NSS does not work there.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  uint16_t port() const;
  std::string to_string() const;  // "127.0.0.1:5201", "[::1]:5201"
};
Result<SocketAddress> parse_socket_address(const std::string& text);

// Serves until *stop is set (or forever when stop is null). Returns non-zero on
// a bind/listen failure.
int run_net_peer(const PeerOptions& opt, const std::atomic<bool>* stop);

}  // namespace vbench

namespace vbench {

// A `vbench-agent serve` child process, killed and reaped on destruction.
class PeerProcess {
 public:
  PeerProcess() = default;
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;
  ~PeerProcess() { stop(); }
  // Starts the peer listening on `listen` ("ADDR:0" picks a port) and
  // returns the bound "ADDR:PORT" once it is accepting.
  Result<std::string> start(const std::string& agent_path, const std::string& listen,
                            const std::string& netns_path = "");
  void stop();
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  std::string ready_file_;
};

// Path of the running executable (/proc/self/exe resolved).
std::string self_exe();

}  // namespace vbench
