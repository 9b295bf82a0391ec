// net.*: TCP bulk throughput and request/response latency against the
// network peer (workloads/net_peer.hpp: `vbench-agent serve`), in the manner
// of iperf3 (tcp_stream) and netperf's TCP_RR, UDP_RR and TCP_CRR.
//
// Every socket call that can wait has a timeout, so a dead or absent peer is
// a failed sample with a reason within seconds, not a hang.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <latch>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "workloads/net_peer.hpp"
#include "workloads/registry.hpp"

namespace vbench {
namespace {

constexpr int kIoTimeoutMs = 5000;                 // connect, and a response that does not come
constexpr int kUdpTimeoutMs = 200;                 // after this an unanswered datagram counts as lost
constexpr int kWarmupTransactions = 10;            // first-touch costs (page faults, caches) stay out of the sample
constexpr uint64_t kMaxTransactions = 50'000'000;  // count bound for rr loops, beside the time bound
constexpr uint64_t kMaxConnects = 2'000'000;       // count bound for tcp_crr (each one uses a port)
constexpr uint64_t kMaxStreamWrites = 1'000'000'000;

bool transient(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

uint64_t deadline_after(uint64_t start_ns, double seconds) { return start_ns + static_cast<uint64_t>(seconds * 1e9); }

Result<SocketAddress> peer_address(const WorkloadContext& ctx) {
  auto a = parse_socket_address(ctx.peer);
  if (!a) return a.error().context("network peer");
  return a;
}

Status set_io_timeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) return sys_error("setsockopt(SO_SNDTIMEO)");
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) return sys_error("setsockopt(SO_RCVTIMEO)");
  return {};
}

Status set_nodelay(int fd) {
  // One small request in flight: Nagle would hold it back waiting for an ACK.
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) return sys_error("setsockopt(TCP_NODELAY)");
  return {};
}

// Connects with a bounded wait (a blocking connect to an address that does
// not answer would retry SYNs for minutes), then returns a blocking socket.
Result<UniqueFd> connect_tcp(const SocketAddress& peer, int timeout_ms) {
  const std::string where = fmt::format("connect {}", peer.to_string());
  UniqueFd fd(socket(peer.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket(TCP)");
  if (connect(fd.get(), peer.get(), peer.length) != 0) {
    if (errno != EINPROGRESS) return sys_error(where);
    pollfd p{fd.get(), POLLOUT, 0};
    int rc;
    do rc = poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) return sys_error(where);
    if (rc == 0) return make_error("{}: no answer within {} s", where, timeout_ms / 1000);
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return sys_error(where);
    if (err != 0) return sys_error(where, err);
  }
  int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return sys_error("fcntl(O_NONBLOCK)");
  return fd;
}

Status send_all(int fd, const void* data, size_t len, const SocketAddress& peer) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return make_error("send to {}: blocked for {} s", peer.to_string(), kIoTimeoutMs / 1000);
      return sys_error(fmt::format("send to {}", peer.to_string()));
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return {};
}

Status recv_all(int fd, void* data, size_t len, const SocketAddress& peer) {
  char* p = static_cast<char*>(data);
  while (len > 0) {
    ssize_t n = recv(fd, p, len, 0);
    if (n == 0) return make_error("{} closed the connection", peer.to_string());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return make_error("no response from {} within {} s", peer.to_string(), kIoTimeoutMs / 1000);
      return sys_error(fmt::format("receive from {}", peer.to_string()));
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return {};
}

// The peer's request/response header (see net_peer.hpp).
std::vector<char> echo_header(char mode, uint32_t request_size, uint32_t response_size) {
  std::vector<char> h(9);
  h[0] = mode;
  uint32_t be_req = htonl(request_size), be_resp = htonl(response_size);
  std::memcpy(h.data() + 1, &be_req, 4);
  std::memcpy(h.data() + 5, &be_resp, 4);
  return h;
}

Result<uint32_t> message_size(const WorkloadContext& ctx) {
  const uint64_t size = ctx.params.get_size("size");
  if (size < 1 || size > kPeerMaxMessage)
    return make_error("parameter `size`: {} bytes is outside [1, {}]", size, kPeerMaxMessage);
  return static_cast<uint32_t>(size);
}

Status check_duration(const WorkloadContext& ctx) {
  const double d = ctx.params.get_seconds("duration");
  if (!(d > 0) || d > 24 * 3600) return make_error("parameter `duration`: {} s is outside (0 s, 24 h]", d);
  return {};
}

void add_rate_and_latency(WorkloadOutput& out, const char* rate_name, const char* unit, uint64_t count,
                          uint64_t elapsed_ns, Histogram h) {
  out.add(rate_name, static_cast<double>(count) / (static_cast<double>(elapsed_ns) / 1e9), unit, Better::Higher);
  out.add_latency("", std::move(h));
}

// tcp_rr's and tcp_crr's measurement: warm-up transactions, then one
// transaction after another until `duration` or `max_count`, each one's
// time from the end of the one before (back to back: no gaps to leave out).
template <typename Transact>
Result<WorkloadOutput> measure_transactions(WorkloadContext& ctx, double duration, uint64_t max_count,
                                            Transact& transact) {
  for (int i = 0; i < kWarmupTransactions; ++i)
    if (auto s = transact(); !s) return s.error();

  Histogram h;
  uint64_t count = 0;
  Status status;
  ctx.region_begin();
  const uint64_t t_start = now_ns(), deadline = deadline_after(t_start, duration);
  uint64_t t_prev = t_start;
  while (count < max_count && !ctx.stopping()) {
    if (!(status = transact())) break;
    const uint64_t t = now_ns();
    h.record(t - t_prev);
    t_prev = t;
    ++count;
    if (t >= deadline) break;
  }
  ctx.region_end();
  if (!status) return status.error();
  if (count == 0) return make_error("no transaction completed");
  WorkloadOutput out;
  add_rate_and_latency(out, "tps", "trans/s", count, t_prev - t_start, std::move(h));
  return out;
}

// ---------------------------------------------------------------------------
// net.tcp_stream
//
// What is counted: bytes the sender's send() calls accepted during the
// measured interval, divided by that interval -- iperf3's "sender" line. The
// receiver has read slightly fewer when the interval ends: what is still in
// the socket buffers (at most the send buffer plus the receive window, a few
// MB). At 5 s on loopback that is well under 0.1%; on a slow link with a short
// duration it can be a few percent, which is why the default is 5 s. After
// the interval each stream is shut down and we wait for the sink to close its
// end, which it does only once it has read everything: a stream whose bytes
// did not all arrive fails the sample instead of inflating it.
Result<WorkloadOutput> run_tcp_stream(WorkloadContext& ctx) {
  auto peer = peer_address(ctx);
  if (!peer) return peer.error();
  if (auto s = check_duration(ctx); !s) return s.error();
  const int64_t streams = ctx.params.get_int("streams");
  if (streams < 1 || streams > 256) return make_error("parameter `streams`: {} is outside [1, 256]", streams);
  const uint64_t msg_size = ctx.params.get_size("msg_size");
  if (msg_size < 1 || msg_size > (64u << 20))
    return make_error("parameter `msg_size`: {} bytes is outside [1, 64MiB]", msg_size);
  const double duration = ctx.params.get_seconds("duration");

  std::vector<UniqueFd> conns;
  for (int64_t i = 0; i < streams; ++i) {
    auto fd = connect_tcp(*peer, kIoTimeoutMs);
    if (!fd) return fd.error();
    const char mode = kPeerModeSink;
    if (auto s = send_all(fd->get(), &mode, 1, *peer); !s) return s.error();
    // A short send timeout: a stalled stream returns to check the clock and
    // the stop flag instead of blocking past the deadline.
    timeval tv{0, 200'000};
    if (setsockopt(fd->get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
      return sys_error("setsockopt(SO_SNDTIMEO)");
    conns.push_back(std::move(*fd));
  }
  const std::vector<char> buf(msg_size, 'v');

  struct StreamTally {
    uint64_t bytes = 0, start_ns = 0, end_ns = 0;
    Status status;
  };
  std::vector<StreamTally> tally(static_cast<size_t>(streams));
  std::latch start(streams);
  auto sender = [&](size_t i) {
    StreamTally& t = tally[i];
    const int fd = conns[i].get();
    start.arrive_and_wait();
    ctx.region_begin();
    t.start_ns = now_ns();
    const uint64_t deadline = deadline_after(t.start_ns, duration);
    uint64_t last_progress = t.start_ns;
    for (uint64_t w = 0; w < kMaxStreamWrites; ++w) {
      const ssize_t n = send(fd, buf.data(), buf.size(), MSG_NOSIGNAL);
      const uint64_t now = now_ns();
      if (n > 0) {
        t.bytes += static_cast<uint64_t>(n);
        last_progress = now;
      } else if (n < 0 && !transient(errno)) {
        t.status = sys_error(fmt::format("send to {}", peer->to_string()));
        break;
      }
      if (now >= deadline || ctx.stopping()) break;
      if (now - last_progress > kIoTimeoutMs * 1'000'000ull) {
        t.status = make_error("stream to {} made no progress for {} s", peer->to_string(), kIoTimeoutMs / 1000);
        break;
      }
    }
    t.end_ns = now_ns();
    ctx.region_end();
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < tally.size(); ++i) threads.emplace_back(sender, i);
  for (auto& th : threads) th.join();
  for (const auto& t : tally)
    if (!t.status) return t.status.error();

  // Delivery check, outside the measured interval.
  for (auto& fd : conns) {
    ::shutdown(fd.get(), SHUT_WR);
    timeval tv{10, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    ssize_t n;
    do n = recv(fd.get(), &c, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n != 0)
      return make_error("sink at {} did not confirm the end of the stream within 10 s ({})", peer->to_string(),
                        n < 0 ? std::strerror(errno) : "it sent data");
  }

  uint64_t bytes = 0, first = UINT64_MAX, last = 0;
  for (const auto& t : tally) {
    bytes += t.bytes;
    first = std::min(first, t.start_ns);
    last = std::max(last, t.end_ns);
  }
  if (bytes == 0 || last <= first) return make_error("no bytes were sent to {}", peer->to_string());
  WorkloadOutput out;
  out.add("throughput", static_cast<double>(bytes) * 8 / 1e6 / (static_cast<double>(last - first) / 1e9), "Mbit/s",
          Better::Higher);
  return out;
}

// ---------------------------------------------------------------------------
// net.tcp_rr: one connection, one transaction in flight.
Result<WorkloadOutput> run_tcp_rr(WorkloadContext& ctx) {
  auto peer = peer_address(ctx);
  if (!peer) return peer.error();
  if (auto s = check_duration(ctx); !s) return s.error();
  auto size = message_size(ctx);
  if (!size) return size.error();
  const double duration = ctx.params.get_seconds("duration");

  auto conn = connect_tcp(*peer, kIoTimeoutMs);
  if (!conn) return conn.error();
  const int fd = conn->get();
  if (auto s = set_nodelay(fd); !s) return s.error();
  if (auto s = set_io_timeouts(fd, kIoTimeoutMs); !s) return s.error();
  const auto header = echo_header(kPeerModePersistent, *size, *size);
  if (auto s = send_all(fd, header.data(), header.size(), *peer); !s) return s.error();
  std::vector<char> request(*size, 'q'), response(*size);
  auto transact = [&]() -> Status {
    if (auto s = send_all(fd, request.data(), request.size(), *peer); !s) return s;
    return recv_all(fd, response.data(), response.size(), *peer);
  };
  return measure_transactions(ctx, duration, kMaxTransactions, transact);
}

// ---------------------------------------------------------------------------
// net.tcp_crr: a new connection per transaction (connect, request, response,
// close), like netperf's TCP_CRR. The latency includes socket creation and
// the close.
//
// TIME_WAIT: whoever closes first keeps the 4-tuple in TIME_WAIT for 60 s;
// at tens of thousands of connections per second the client would run out of
// its ~28k ephemeral ports within a second or two, and connect() would fail
// with EADDRNOTAVAIL (or worse, slow down as the kernel searches for a free
// port). So the client closes with SO_LINGER {on, 0}: close() sends a RST and
// frees the port at once, on both sides. The price: the close measured is an
// abort, not the FIN handshake of a graceful close. The count bound
// (kMaxConnects) caps the damage should ports leak anyway.
Result<WorkloadOutput> run_tcp_crr(WorkloadContext& ctx) {
  auto peer = peer_address(ctx);
  if (!peer) return peer.error();
  if (auto s = check_duration(ctx); !s) return s.error();
  auto size = message_size(ctx);
  if (!size) return size.error();
  const double duration = ctx.params.get_seconds("duration");

  // Header and request leave in one write, as a client's first segment would.
  std::vector<char> request = echo_header(kPeerModeEcho, *size, *size);
  request.resize(request.size() + *size, 'q');
  std::vector<char> response(*size);
  const std::string where = fmt::format("connect {}", peer->to_string());
  auto transact = [&]() -> Status {
    UniqueFd fd(socket(peer->family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return sys_error("socket(TCP)");
    linger abort_on_close{1, 0};
    if (setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) != 0)
      return sys_error("setsockopt(SO_LINGER)");
    if (auto s = set_nodelay(fd.get()); !s) return s;
    // SO_SNDTIMEO also bounds a blocking connect() on Linux.
    if (auto s = set_io_timeouts(fd.get(), kIoTimeoutMs); !s) return s;
    if (connect(fd.get(), peer->get(), peer->length) != 0) {
      if (errno == EINPROGRESS || errno == EAGAIN)
        return make_error("{}: no answer within {} s", where, kIoTimeoutMs / 1000);
      if (errno == EADDRNOTAVAIL) return sys_error(where + " (out of local ports?)");
      return sys_error(where);
    }
    if (auto s = send_all(fd.get(), request.data(), request.size(), *peer); !s) return s;
    return recv_all(fd.get(), response.data(), response.size(), *peer);
  };
  return measure_transactions(ctx, duration, kMaxConnects, transact);
}

// ---------------------------------------------------------------------------
// net.udp_rr: one datagram out, the echo back, one in flight.
//
// Loss: a request unanswered within kUdpTimeoutMs counts as `lost`; it is not
// a latency sample, and the time spent waiting for it stays in the interval
// that `tps` divides by (it is time the workload could not use). Each request
// carries a sequence number in its first min(size, 8) bytes, so a late answer
// to a request already counted as lost is recognised and skipped, not taken
// for the answer to the next one.
Result<WorkloadOutput> run_udp_rr(WorkloadContext& ctx) {
  auto peer = peer_address(ctx);
  if (!peer) return peer.error();
  if (auto s = check_duration(ctx); !s) return s.error();
  auto size = message_size(ctx);
  if (!size) return size.error();
  // 65507 = 65535 - 8 (UDP header) - 20 (IPv4 header): larger does not fit one datagram.
  if (*size > 65507) return make_error("parameter `size`: {} bytes do not fit one UDP datagram (max 65507)", *size);
  const double duration = ctx.params.get_seconds("duration");

  UniqueFd sock(socket(peer->family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return sys_error("socket(UDP)");
  const int fd = sock.get();
  // A connected UDP socket only accepts datagrams from the peer, and reports
  // an ICMP "port unreachable" as ECONNREFUSED on the next call.
  if (connect(fd, peer->get(), peer->length) != 0) return sys_error(fmt::format("connect UDP {}", peer->to_string()));
  if (auto s = set_io_timeouts(fd, kUdpTimeoutMs); !s) return s.error();

  std::vector<uint8_t> request(*size, 'q'), response(std::max<size_t>(*size, 2048));
  const size_t seq_bytes = std::min<size_t>(*size, 8);
  uint64_t seq = 0;
  // Returns whether the answer came (false = lost); an error only for a
  // socket error.
  auto transact = [&]() -> Result<bool> {
    ++seq;
    std::memcpy(request.data(), &seq, seq_bytes);
    for (;;) {
      ssize_t n = send(fd, request.data(), request.size(), 0);
      if (n >= 0) break;
      if (errno == EINTR) continue;
      return sys_error(fmt::format("send to {}", peer->to_string()));
    }
    for (int stale = 0; stale < 16;) {
      ssize_t n = recv(fd, response.data(), response.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        return sys_error(fmt::format("receive from {}", peer->to_string()));
      }
      if (static_cast<size_t>(n) == request.size() && std::memcmp(response.data(), &seq, seq_bytes) == 0) return true;
      ++stale;  // an answer to an earlier request, already counted as lost
    }
    return false;
  };
  // The peer must answer before we measure: 5 tries of kUdpTimeoutMs.
  bool answered = false;
  for (int i = 0; i < 5 && !answered; ++i) {
    auto r = transact();
    if (!r) return r.error();
    answered = *r;
  }
  if (!answered) return make_error("no UDP echo from {} within {} s", peer->to_string(), 5 * kUdpTimeoutMs / 1000.0);
  for (int i = 0; i < kWarmupTransactions; ++i)
    if (auto r = transact(); !r) return r.error();

  Histogram h;
  uint64_t count = 0, lost = 0;
  Status status;
  ctx.region_begin();
  const uint64_t t_start = now_ns(), deadline = deadline_after(t_start, duration);
  uint64_t t_prev = t_start;
  while (count + lost < kMaxTransactions && !ctx.stopping()) {
    auto r = transact();
    if (!r) {
      status = r.error();
      break;
    }
    const uint64_t t = now_ns();
    if (*r) {
      h.record(t - t_prev);
      ++count;
    } else {
      ++lost;
    }
    t_prev = t;
    if (t >= deadline) break;
  }
  ctx.region_end();
  if (!status) return status.error();
  if (count == 0) return make_error("no transaction completed ({} lost)", lost);
  WorkloadOutput out;
  add_rate_and_latency(out, "tps", "trans/s", count, t_prev - t_start, std::move(h));
  out.add("lost", static_cast<double>(lost), "trans", Better::Lower);
  return out;
}

ParamSpec duration_param(const char* def) {
  return param("duration", ParamType::Duration, def, "how long to measure (also bounded in count)")
      .range(1e-3, ParamSpec::kMaxDurationS);
}
ParamSpec size_param() {
  return param("size", ParamType::Size, "1", "request and response size in bytes").range(1, 1 << 20);
}

}  // namespace

void add_net_workloads(std::vector<WorkloadDef>& out) {
  out.push_back(WorkloadDef{
      .name = "net.tcp_stream",
      .description = "TCP bulk send to the peer's sink, like iperf3 -c: `throughput` is bytes accepted by send() "
                     "over the interval (iperf3's sender side), in Mbit/s (1e6 bit)",
      .params =
          {param("streams", ParamType::Int, "1", "parallel connections, one sending thread each").range(1, 256),
           param("msg_size", ParamType::Size, "128KiB", "bytes per send() call (iperf3's --length)").range(1, 64 << 20),
           duration_param("5s")},
      .run = run_tcp_stream,
      .needs_peer = true});
  out.push_back(WorkloadDef{.name = "net.tcp_rr",
                            .description =
                                "TCP request/response on one connection, one transaction in flight, TCP_NODELAY, like "
                                "netperf TCP_RR: `tps` and per-transaction latency",
                            .params = {size_param(), duration_param("5s")},
                            .run = run_tcp_rr,
                            .needs_peer = true});
  out.push_back(WorkloadDef{
      .name = "net.tcp_crr",
      .description = "TCP connect, request, response, close per transaction, like netperf TCP_CRR (the client "
                     "closes with RST, SO_LINGER 0, to leave no TIME_WAIT): `tps` and latency",
      .params = {size_param(), duration_param("5s")},
      .run = run_tcp_crr,
      .needs_peer = true});
  out.push_back(WorkloadDef{.name = "net.udp_rr",
                            .description =
                                "UDP request/response, one datagram in flight, like netperf UDP_RR: `tps`, latency of "
                                "answered transactions, `lost` = unanswered within 200 ms",
                            .params = {size_param(), duration_param("5s")},
                            .run = run_udp_rr,
                            .needs_peer = true});
}

}  // namespace vbench
