#include "workloads/net_peer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/fs.hpp"

namespace vbench {

// ---------------------------------------------------------------------------
// Addresses

uint16_t SocketAddress::port() const {
  if (family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string SocketAddress::to_string() const {
  char host[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, host, sizeof host);
    return fmt::format("{}:{}", host, port());
  }
  if (family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, host, sizeof host);
    return fmt::format("[{}]:{}", host, port());
  }
  return "?";
}

namespace {

void set_port(SocketAddress& a, uint16_t port) {
  if (a.family == AF_INET)
    reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port = htons(port);
  else
    reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port = htons(port);
}

}  // namespace

Result<SocketAddress> parse_socket_address(const std::string& text) {
  auto bad = [&](const char* why) {
    return make_error("address `{}`: {} (expected IPV4:PORT or [IPV6]:PORT, a literal address)", text, why);
  };
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return bad("no port");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return bad("no port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) return bad("IPv6 addresses go in brackets");
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad("bad port");
  const unsigned long p = std::stoul(port);
  if (p > 65535) return bad("port out of range");
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    a.family = v4->sin_family = AF_INET;
    a.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    a.family = v6->sin6_family = AF_INET6;
    a.length = sizeof(sockaddr_in6);
  } else {
    return bad("not an IP address literal");
  }
  set_port(a, static_cast<uint16_t>(p));
  return a;
}

// ---------------------------------------------------------------------------
// The peer
//
// Threads: a few event loops (epoll) accept connections and serve sink and
// short-lived request/response connections; each persistent request/response
// connection ('R') gets a thread of its own doing blocking I/O, and one
// thread echoes UDP with blocking I/O. Blocking I/O on one socket is what
// netserver and sockperf's server do, and it is the shortest path: a
// transaction costs the peer recv + send. An event loop adds an epoll_wait
// per transaction (about 10% of a loopback round trip here), which
// short-lived connections pay anyway and where a thread per connection would
// cost far more (its creation is in every net.tcp_crr transaction).

namespace {

constexpr uint64_t kIdleTimeoutNs = 60'000'000'000ull;
constexpr int kStopCheckMs = 200;            // how often blocking threads look at the stop flag
constexpr size_t kChunk = 128 * 1024;        // sink reads and response writes, like iperf3's default block
constexpr size_t kEchoHeader = 9;            // mode byte + two big-endian uint32
constexpr size_t kMaxDedicatedThreads = 64;  // persistent connections beyond this share the event loops

const char kZeros[kChunk] = {};  // the bytes of every response

bool transient(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

void set_stop_check_timeouts(int fd) {
  timeval tv{0, kStopCheckMs * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

class PeerShared {
 public:
  int listen_fd = -1;
  int udp_fd = -1;
  const std::atomic<bool>* stop = nullptr;
  int max_connections = kPeerMaxConnections;
  std::atomic<int> connections{0};
  std::atomic<bool> abort{false};  // set when the peer gives up after starting its threads

  bool stopping() const {
    return abort.load(std::memory_order_relaxed) || (stop && stop->load(std::memory_order_relaxed));
  }

  // Hands a persistent request/response connection (header read, socket
  // non-blocking) to a thread of its own. False when at the thread cap or
  // out of threads: the caller keeps serving it.
  bool dedicate(int fd, uint32_t request_size, uint32_t response_size);
  void join_dedicated();

 private:
  struct Dedicated {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void serve_persistent(int fd, uint32_t request_size, uint32_t response_size);

  std::mutex mu_;
  std::list<Dedicated> dedicated_;  // a list: each thread refers to its own element
};

bool PeerShared::dedicate(int fd, uint32_t request_size, uint32_t response_size) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = dedicated_.begin(); it != dedicated_.end();) {
    if (it->done.load()) {
      it->thread.join();
      it = dedicated_.erase(it);
    } else {
      ++it;
    }
  }
  if (dedicated_.size() >= kMaxDedicatedThreads) return false;
  Dedicated& d = dedicated_.emplace_back();
  try {
    d.thread = std::thread([this, fd, request_size, response_size, &d] {
      serve_persistent(fd, request_size, response_size);
      connections.fetch_sub(1);
      d.done.store(true);
    });
  } catch (const std::system_error&) {  // std::thread's way of saying EAGAIN
    dedicated_.pop_back();
    return false;
  }
  return true;
}

void PeerShared::join_dedicated() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& d : dedicated_) d.thread.join();
  dedicated_.clear();
}

// Blocking recv of each request, blocking send of each response, until EOF,
// an error, the stop flag, or kIdleTimeoutNs without progress.
void PeerShared::serve_persistent(int raw_fd, uint32_t request_size, uint32_t response_size) {
  UniqueFd fd(raw_fd);
  int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return;
  set_stop_check_timeouts(fd.get());
  std::vector<char> buf(std::min<size_t>(request_size, kChunk));
  uint64_t last_progress = now_ns();
  auto stalled = [&] { return stopping() || now_ns() - last_progress > kIdleTimeoutNs; };
  for (;;) {
    for (uint32_t received = 0; received < request_size;) {
      ssize_t n = recv(fd.get(), buf.data(), std::min<size_t>(request_size - received, buf.size()), 0);
      if (n == 0) return;
      if (n < 0) {
        if (!transient(errno) || stalled()) return;
        continue;
      }
      received += static_cast<uint32_t>(n);
      last_progress = now_ns();
    }
    if (stopping()) return;
    for (uint32_t sent = 0; sent < response_size;) {
      ssize_t n = send(fd.get(), kZeros, std::min<size_t>(response_size - sent, kChunk), MSG_NOSIGNAL);
      if (n < 0) {
        if (!transient(errno) || stalled()) return;
        continue;
      }
      sent += static_cast<uint32_t>(n);
    }
  }
}

// UDP: every datagram straight back to its sender, blocking I/O.
void serve_udp(const PeerShared& sh) {
  set_stop_check_timeouts(sh.udp_fd);
  std::vector<char> datagram(65536);
  while (!sh.stopping()) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(sh.udp_fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) continue;  // the stop-check timeout, EINTR, or an error about an earlier datagram
    // Best effort, like the network: a reply that cannot be sent is lost.
    (void)sendto(sh.udp_fd, datagram.data(), static_cast<size_t>(n), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from),
                 from_len);
  }
}

struct PeerConnection {
  enum class State { Header, Sink, Request, Response };
  UniqueFd fd;
  State state = State::Header;
  uint8_t header[kEchoHeader] = {};
  size_t header_have = 0;
  uint32_t request_size = 0, response_size = 0;
  uint32_t received = 0;  // of the current request
  uint32_t sent = 0;      // of the current response
  uint32_t interest = EPOLLIN;
  uint64_t last_active_ns = 0;
};

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// One event loop. Every worker watches the listening socket with
// EPOLLEXCLUSIVE, so a new connection wakes one idle worker, which then owns
// that connection alone: no locks, no hand-off between threads on the
// request path (which net.tcp_crr would measure).
class PeerWorker {
 public:
  explicit PeerWorker(PeerShared& shared) : sh_(shared), scratch_(kChunk) {}

  Status init() {
    epfd_.reset(epoll_create1(EPOLL_CLOEXEC));
    if (!epfd_) return sys_error("epoll_create1");
    // EPOLLEXCLUSIVE (Linux 4.5+) avoids waking every worker per connection;
    // without it all wake and all but one find EAGAIN, which is still correct.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.fd = sh_.listen_fd;
    if (epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, sh_.listen_fd, &ev) != 0) {
      ev.events = EPOLLIN;
      if (epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, sh_.listen_fd, &ev) != 0) return sys_error("epoll_ctl add");
    }
    return {};
  }

  void run() {
    epoll_event events[64];
    uint64_t next_sweep = now_ns() + 1'000'000'000ull;
    while (!sh_.stopping()) {
      int n = epoll_wait(epfd_.get(), events, 64, kStopCheckMs);
      if (n < 0) {
        if (errno == EINTR) continue;
        fmt::print(stderr, "vbench-agent serve: epoll_wait: {}\n", std::strerror(errno));
        break;
      }
      const uint64_t now = now_ns();
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == sh_.listen_fd) {
          accept_some(now);
          continue;
        }
        auto it = conns_.find(fd);
        if (it == conns_.end()) continue;
        it->second->last_active_ns = now;
        finish(it, (events[i].events & EPOLLERR) ? Next::Close : serve(*it->second));
      }
      if (now >= next_sweep) {
        close_idle(now);
        next_sweep = now + 1'000'000'000ull;
      }
    }
    while (!conns_.empty()) finish(conns_.begin(), Next::Close);
  }

 private:
  using ConnMap = std::unordered_map<int, std::unique_ptr<PeerConnection>>;
  enum class Next { Keep, Close, HandedOff };

  void accept_some(uint64_t now) {
    for (int i = 0; i < 16; ++i) {
      int fd = accept4(sh_.listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors or memory: the listener stays readable, so
          // back off instead of spinning on it.
          usleep(10000);
          return;
        }
        continue;  // ECONNABORTED and friends: that one client is gone
      }
      if (sh_.connections.fetch_add(1) >= sh_.max_connections) {
        sh_.connections.fetch_sub(1);
        ::close(fd);
        continue;
      }
      auto conn = std::make_unique<PeerConnection>();
      conn->fd.reset(fd);
      conn->last_active_ns = now;
      // Responses leave at once (request/response latency), as netserver does.
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      if (epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
        sh_.connections.fetch_sub(1);
        continue;  // conn closes fd
      }
      auto [it, inserted] = conns_.emplace(fd, std::move(conn));
      (void)inserted;
      // The client usually sent its header (and request) with the handshake:
      // serve it now rather than after another epoll_wait.
      finish(it, serve(*it->second));
    }
  }

  bool set_interest(PeerConnection& c, uint32_t interest) {
    if (c.interest == interest) return true;
    epoll_event ev{};
    ev.events = interest;
    ev.data.fd = c.fd.get();
    if (epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev) != 0) return false;
    c.interest = interest;
    return true;
  }
  Next keep_if(bool ok) { return ok ? Next::Keep : Next::Close; }

  // Advances one connection as far as it can go without blocking. Bounded
  // per call so that one busy connection cannot starve the others (epoll is
  // level-triggered: whatever is left is reported again).
  Next serve(PeerConnection& c) {
    using S = PeerConnection::State;
    for (int round = 0; round < 16; ++round) {
      switch (c.state) {
        case S::Header: {
          ssize_t n = recv(c.fd.get(), c.header + c.header_have, kEchoHeader - c.header_have, 0);
          if (n == 0) return Next::Close;
          if (n < 0) return keep_if(transient(errno));
          c.header_have += static_cast<size_t>(n);
          const char mode = static_cast<char>(c.header[0]);
          if (mode == kPeerModeSink) {
            c.state = S::Sink;  // header bytes past the mode byte were stream data
            break;
          }
          if (mode != kPeerModeEcho && mode != kPeerModePersistent) return Next::Close;  // not our protocol
          if (c.header_have < kEchoHeader) break;
          c.request_size = load_be32(c.header + 1);
          c.response_size = load_be32(c.header + 5);
          if (c.request_size == 0 || c.request_size > kPeerMaxMessage || c.response_size == 0 ||
              c.response_size > kPeerMaxMessage)
            return Next::Close;
          if (mode == kPeerModePersistent) {
            // Closing the descriptor would have removed it from the epoll
            // set; handing it over, we must.
            epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
            if (sh_.dedicate(c.fd.get(), c.request_size, c.response_size)) {
              c.fd.release();
              return Next::HandedOff;
            }
            epoll_event ev{};
            ev.events = c.interest;
            ev.data.fd = c.fd.get();
            if (epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, c.fd.get(), &ev) != 0) return Next::Close;
          }
          c.state = S::Request;
          c.received = 0;
          break;
        }
        case S::Sink: {
          ssize_t n = recv(c.fd.get(), scratch_.data(), scratch_.size(), 0);
          if (n == 0) return Next::Close;  // EOF: closing tells the sender we read it all
          if (n < 0) return keep_if(transient(errno));
          if (static_cast<size_t>(n) < scratch_.size()) return Next::Keep;  // drained
          break;
        }
        case S::Request: {
          const size_t want = std::min<size_t>(c.request_size - c.received, scratch_.size());
          ssize_t n = recv(c.fd.get(), scratch_.data(), want, 0);
          if (n == 0) return Next::Close;
          if (n < 0) return keep_if(transient(errno));
          c.received += static_cast<uint32_t>(n);
          if (c.received == c.request_size) {
            c.state = S::Response;
            c.sent = 0;
          } else if (static_cast<size_t>(n) < want) {
            return Next::Keep;  // drained; the rest comes later
          }
          break;
        }
        case S::Response: {
          const size_t want = std::min<size_t>(c.response_size - c.sent, kChunk);
          ssize_t n = send(c.fd.get(), kZeros, want, MSG_NOSIGNAL);
          if (n < 0) {
            // The client is not reading: wait until it does, and read no
            // more requests meanwhile (memory stays bounded).
            if (transient(errno)) return keep_if(set_interest(c, EPOLLOUT));
            return Next::Close;
          }
          c.sent += static_cast<uint32_t>(n);
          if (c.sent == c.response_size) {
            c.state = S::Request;
            c.received = 0;
            // Back to epoll: the next request is a client round trip away.
            return keep_if(set_interest(c, EPOLLIN));
          }
          break;
        }
      }
    }
    return Next::Keep;
  }

  void finish(ConnMap::iterator it, Next next) {
    if (next == Next::Keep) return;
    conns_.erase(it);  // closes the descriptor, which also takes it out of the epoll set
    if (next == Next::Close) sh_.connections.fetch_sub(1);  // a handed-off one is counted until its thread ends
  }

  void close_idle(uint64_t now) {
    for (auto it = conns_.begin(); it != conns_.end();) {
      auto next = std::next(it);
      if (now - it->second->last_active_ns > kIdleTimeoutNs) finish(it, Next::Close);
      it = next;
    }
  }

  PeerShared& sh_;
  UniqueFd epfd_;
  ConnMap conns_;
  std::vector<char> scratch_;
};

struct BoundSockets {
  UniqueFd tcp, udp;
  SocketAddress address;
};

// Binds TCP (listening) and UDP on one address and port. Port 0: the kernel
// picks a free TCP port, and we retry until UDP can have the same one.
Result<BoundSockets> bind_peer_sockets(SocketAddress addr) {
  const bool any_port = addr.port() == 0;
  for (int attempt = 0; attempt < 64; ++attempt) {
    BoundSockets b;
    b.tcp.reset(socket(addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!b.tcp) return sys_error("socket(TCP)");
    // Restarting the peer on a fixed port must not wait out TIME_WAIT.
    int one = 1;
    setsockopt(b.tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(b.tcp.get(), addr.get(), addr.length) != 0) return sys_error(fmt::format("bind TCP {}", addr.to_string()));
    b.address = addr;
    socklen_t len = sizeof b.address.storage;
    if (getsockname(b.tcp.get(), reinterpret_cast<sockaddr*>(&b.address.storage), &len) != 0)
      return sys_error("getsockname");
    b.udp.reset(socket(addr.family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!b.udp) return sys_error("socket(UDP)");
    if (bind(b.udp.get(), b.address.get(), b.address.length) != 0) {
      if (any_port && errno == EADDRINUSE) continue;
      return sys_error(fmt::format("bind UDP {}", b.address.to_string()));
    }
    if (listen(b.tcp.get(), SOMAXCONN) != 0) return sys_error(fmt::format("listen {}", b.address.to_string()));
    return b;
  }
  return make_error("no port on {} is free for both TCP and UDP after 64 tries", addr.to_string());
}

// Descriptors for kPeerMaxConnections: raise the soft limit towards the hard
// one, and never accept more than the limit leaves room for.
int connection_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 256;
  const rlim_t want = std::min<rlim_t>(rl.rlim_max, kPeerMaxConnections + 64);
  if (rl.rlim_cur < want) {
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) getrlimit(RLIMIT_NOFILE, &rl);
  }
  return static_cast<int>(std::clamp<rlim_t>(rl.rlim_cur > 64 ? rl.rlim_cur - 64 : 16, 16, kPeerMaxConnections));
}

}  // namespace

int run_net_peer(const PeerOptions& opt, const std::atomic<bool>* stop) {
  auto fail = [](const std::string& msg) {
    fmt::print(stderr, "vbench-agent serve: {}\n", msg);
    return 1;
  };
  auto addr = parse_socket_address(opt.listen);
  if (!addr) return fail(addr.error().message);
  auto bound = bind_peer_sockets(*addr);
  if (!bound) return fail(bound.error().message);

  PeerShared shared;
  shared.listen_fd = bound->tcp.get();
  shared.udp_fd = bound->udp.get();
  shared.stop = stop;
  shared.max_connections = connection_limit();

  // A few event loops so that parallel streams are not sunk by one core.
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  const unsigned n_workers = std::min(cpus, 4u);
  std::vector<std::unique_ptr<PeerWorker>> workers;
  for (unsigned i = 0; i < n_workers; ++i) {
    workers.push_back(std::make_unique<PeerWorker>(shared));
    if (auto s = workers.back()->init(); !s) return fail(s.error().message);
  }
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  threads.emplace_back([&shared] { serve_udp(shared); });

  const std::string where = bound->address.to_string();
  int rc = 0;
  if (!opt.ready_file.empty()) {
    if (auto s = write_file_atomic(opt.ready_file, where + "\n"); !s) {
      fmt::print(stderr, "vbench-agent serve: ready file: {}\n", s.error().message);
      rc = 1;
    }
  }
  if (rc == 0) {
    if (opt.print_address) {
      fmt::print("listening {}\n", where);
      std::fflush(stdout);
    }
    if (opt.on_ready) opt.on_ready(where);
  }
  if (rc != 0) shared.abort.store(true);  // nobody learns where we listen: stop the threads
  for (auto& t : threads) t.join();
  // The event loops are gone, so nothing dedicates more threads.
  shared.join_dedicated();
  return rc;
}

}  // namespace vbench

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "core/clock.hpp"
#include "core/fs.hpp"

namespace vbench {

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::string> PeerProcess::start(const std::string& agent_path, const std::string& listen,
                                       const std::string& netns_path) {
  char tmpl[] = "/tmp/vbench-peer-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return sys_error("mkstemp for the peer's ready file");
  ::close(fd);
  ready_file_ = tmpl;
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return sys_error("fork the network peer");
  if (pid == 0) {
    // The peer must not outlive a vbench that is SIGKILLed: nothing else
    // would ever stop it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    if (!netns_path.empty()) {
      // setns(CLONE_NEWNET) assumes netns_path is a network namespace file.
      int ns = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(120);
    }
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) dup2(devnull, 1);
    execl(agent_path.c_str(), agent_path.c_str(), "serve", "--listen", listen.c_str(), "--ready-file",
          ready_file_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  const uint64_t deadline = now_ns() + 5'000'000'000ull;
  while (now_ns() < deadline) {
    auto content = read_line(ready_file_);
    if (content && !content->empty()) {
      // Read once: remove it now, so that not even a SIGKILL later leaves it.
      ::unlink(ready_file_.c_str());
      ready_file_.clear();
      return *content;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return make_error("network peer `{} serve --listen {}` exited before listening (status {})", agent_path, listen,
                        status);
    }
    usleep(5000);
  }
  stop();
  return make_error("network peer on {} did not start listening within 5 s", listen);
}

void PeerProcess::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (!ready_file_.empty()) {
    ::unlink(ready_file_.c_str());
    ready_file_.clear();
  }
}

}  // namespace vbench
