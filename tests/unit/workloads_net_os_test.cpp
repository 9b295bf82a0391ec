// net.* against a real peer (run_net_peer in a thread, on 127.0.0.1 with a
// port the kernel picks), the peer's robustness to garbage, and os.* briefly.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <thread>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "workloads/net_peer.hpp"
#include "workloads/registry.hpp"

using namespace vbench;

namespace {

// A peer served by a thread of this process; stopped and joined on scope exit.
class LoopbackPeer {
 public:
  explicit LoopbackPeer(std::string listen = "127.0.0.1:0") {
    auto ready = ready_.get_future();
    thread_ = std::thread([this, listen] {
      PeerOptions o;
      o.listen = listen;
      o.print_address = false;
      bool told = false;
      o.on_ready = [&](const std::string& a) {
        ready_.set_value(a);
        told = true;
      };
      rc_ = run_net_peer(o, &stop_);
      if (!told) ready_.set_value("");
    });
    REQUIRE(ready.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    address_ = ready.get();
  }
  ~LoopbackPeer() { stop(); }
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  const std::string& address() const { return address_; }
  int rc() const { return rc_; }

 private:
  std::promise<std::string> ready_;
  std::atomic<bool> stop_{false};
  std::atomic<int> rc_{0};
  std::thread thread_;
  std::string address_;
};

Result<WorkloadOutput> run_workload(const std::string& name, const std::map<std::string, nlohmann::json>& given,
                                    const std::string& peer = "") {
  const WorkloadDef* def = find_workload(name);
  REQUIRE(def != nullptr);
  auto params = resolve_params(*def, given);
  REQUIRE(params.ok());
  WorkloadContext ctx;
  ctx.params = *params;
  ctx.peer = peer;
  ctx.online_cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  return def->run(ctx);
}

const Metric& metric(const WorkloadOutput& out, const std::string& name) {
  for (const auto& m : out.metrics)
    if (m.name == name) return m;
  FAIL("no metric `" << name << "`");
  throw std::logic_error("unreachable");
}

// The standard latency metrics, and the histogram's count agreeing with the
// rate: count / rate is the measured interval, at least the duration asked
// for (the loop ends at the first operation past the deadline).
void check_rate_and_latency(const WorkloadOutput& out, const std::string& rate_name, const std::string& unit,
                            double duration_s) {
  const Metric& rate = metric(out, rate_name);
  CHECK(rate.unit == unit);
  CHECK(rate.better == Better::Higher);
  REQUIRE(rate.value > 0);
  REQUIRE(out.histograms.count("latency") == 1);
  const Histogram& h = out.histograms.at("latency");
  REQUIRE(h.count() > 0);
  const double interval = static_cast<double>(h.count()) / rate.value;
  CHECK(interval >= duration_s * 0.999);
  CHECK(interval < duration_s + 1.0);
  double prev = 0;
  for (const char* q : {"lat_p50", "lat_p90", "lat_p99", "lat_p99.9", "lat_max"}) {
    const Metric& m = metric(out, q);
    CHECK(m.unit == "us");
    CHECK(m.better == Better::Lower);
    CHECK(m.value > 0);
    CHECK(m.value >= prev);
    prev = m.value;
  }
  CHECK(metric(out, "lat_max").value == Approx(static_cast<double>(h.max()) / 1000.0));
}

UniqueFd connect_raw(const std::string& address, int type = SOCK_STREAM) {
  auto a = parse_socket_address(address);
  REQUIRE(a.ok());
  UniqueFd fd(socket(a->family, type | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  REQUIRE(connect(fd.get(), a->get(), a->length) == 0);
  timeval tv{2, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// True when the peer closes the connection (EOF or reset) within 2 s,
// discarding whatever it sends before.
bool peer_closes(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

void close_with_reset(UniqueFd& fd) {
  linger l{1, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

std::string echo_header(uint32_t req, uint32_t resp, char mode = kPeerModeEcho) {
  std::string h(9, '\0');
  h[0] = mode;
  uint32_t a = htonl(req), b = htonl(resp);
  std::memcpy(h.data() + 1, &a, 4);
  std::memcpy(h.data() + 5, &b, 4);
  return h;
}

}  // namespace

TEST_CASE("socket addresses parse as literals only", "[net]") {
  struct Case {
    const char* text;
    const char* canonical;  // nullptr = must fail
  };
  const Case cases[] = {
      {"127.0.0.1:5201", "127.0.0.1:5201"},
      {"198.18.0.1:0", "198.18.0.1:0"},
      {"[::1]:80", "[::1]:80"},
      {"[fe80::1]:65535", "[fe80::1]:65535"},
      {"127.0.0.1", nullptr},
      {"127.0.0.1:", nullptr},
      {"127.0.0.1:65536", nullptr},
      {"127.0.0.1:-1", nullptr},
      {"127.0.0.1:80x", nullptr},
      {"localhost:80", nullptr},
      {"::1:80", nullptr},
      {"[::1]80", nullptr},
      {"", nullptr},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto a = parse_socket_address(c.text);
    if (c.canonical) {
      REQUIRE(a.ok());
      CHECK(a->to_string() == c.canonical);
    } else {
      REQUIRE_FALSE(a.ok());
      CHECK_THAT(a.error().message, Catch::Contains(std::string("`") + c.text + "`"));
    }
  }
}

TEST_CASE("peer binds TCP and UDP on one port and stops when asked", "[net][peer]") {
  auto peer = std::make_unique<LoopbackPeer>();
  REQUIRE_FALSE(peer->address().empty());
  auto a = parse_socket_address(peer->address());
  REQUIRE(a.ok());
  CHECK(a->port() != 0);
  // Both protocols hold the port: binding UDP on it again fails.
  UniqueFd u(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  const int rc = bind(u.get(), a->get(), a->length);
  const int err = errno;
  CHECK(rc != 0);
  CHECK(err == EADDRINUSE);
  // A second peer on the same explicit port fails to bind, quickly.
  {
    PeerOptions o;
    o.listen = peer->address();
    o.print_address = false;
    std::atomic<bool> stop{false};
    const uint64_t t0 = now_ns();
    CHECK(run_net_peer(o, &stop) != 0);
    CHECK(now_ns() - t0 < 1'000'000'000ull);
  }
  const uint64_t t0 = now_ns();
  peer->stop();
  CHECK(now_ns() - t0 < 2'000'000'000ull);
  CHECK(peer->rc() == 0);
  // Stopped means the port is free again.
  UniqueFd t(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  CHECK(bind(t.get(), a->get(), a->length) == 0);
}

TEST_CASE("peer writes its ready file", "[net][peer]") {
  char dir[] = "/tmp/vbench-peer-test-XXXXXX";
  REQUIRE(mkdtemp(dir));
  const std::string file = std::string(dir) + "/ready";
  std::atomic<bool> stop{false};
  std::thread t([&] {
    PeerOptions o;
    o.ready_file = file;
    o.print_address = false;
    run_net_peer(o, &stop);
  });
  std::string addr;
  for (int i = 0; i < 500 && addr.empty(); ++i) {
    if (auto l = read_line(file); l.ok())
      addr = *l;
    else
      usleep(10000);
  }
  stop.store(true);
  t.join();
  CHECK(parse_socket_address(addr).ok());
  CHECK_THAT(addr, Catch::StartsWith("127.0.0.1:"));
  CHECK(remove_tree(dir).ok());
}

TEST_CASE("net workloads on loopback", "[net]") {
  LoopbackPeer peer;
  const double d = 0.2;

  SECTION("tcp_stream, one stream") {
    auto out = run_workload("net.tcp_stream", {{"duration", "0.2s"}}, peer.address());
    REQUIRE(out.ok());
    const Metric& m = metric(*out, "throughput");
    CHECK(m.unit == "Mbit/s");
    CHECK(m.better == Better::Higher);
    CHECK(m.value > 10);  // loopback does gigabits; 10 Mbit/s would mean something is badly wrong
    CHECK(out->histograms.empty());
  }
  SECTION("tcp_stream, three streams of small writes") {
    auto out =
        run_workload("net.tcp_stream", {{"duration", "0.2s"}, {"streams", 3}, {"msg_size", "1k"}}, peer.address());
    REQUIRE(out.ok());
    CHECK(metric(*out, "throughput").value > 1);
  }
  SECTION("tcp_rr") {
    auto out = run_workload("net.tcp_rr", {{"duration", "0.2s"}}, peer.address());
    REQUIRE(out.ok());
    check_rate_and_latency(*out, "tps", "trans/s", d);
  }
  SECTION("tcp_rr with 64KiB messages") {
    auto out = run_workload("net.tcp_rr", {{"duration", "0.2s"}, {"size", "64KiB"}}, peer.address());
    REQUIRE(out.ok());
    check_rate_and_latency(*out, "tps", "trans/s", d);
  }
  SECTION("tcp_crr") {
    auto out = run_workload("net.tcp_crr", {{"duration", "0.2s"}}, peer.address());
    REQUIRE(out.ok());
    check_rate_and_latency(*out, "tps", "trans/s", d);
  }
  SECTION("udp_rr") {
    auto out = run_workload("net.udp_rr", {{"duration", "0.2s"}}, peer.address());
    REQUIRE(out.ok());
    check_rate_and_latency(*out, "tps", "trans/s", d);
    CHECK(metric(*out, "lost").value == 0);  // loopback does not drop one datagram in flight
  }
  SECTION("udp_rr with 1400-byte datagrams") {
    auto out = run_workload("net.udp_rr", {{"duration", "0.2s"}, {"size", 1400}}, peer.address());
    REQUIRE(out.ok());
    check_rate_and_latency(*out, "tps", "trans/s", d);
  }
  SECTION("sizes out of range are refused before connecting") {
    // By the parameter table's range, before the workload runs at all.
    auto params = resolve_params(*find_workload("net.tcp_rr"), {{"size", "2MiB"}});
    REQUIRE_FALSE(params.ok());
    CHECK_THAT(params.error().message, Catch::Contains("`size`") && Catch::Contains("out of range (1..1MiB)"));
  }
}

TEST_CASE("peer survives garbage and abrupt disconnects", "[net][peer]") {
  LoopbackPeer peer;

  // An unknown mode byte: the peer hangs up.
  {
    auto fd = connect_raw(peer.address());
    const char junk[] = "GET / HTTP/1.0\r\n\r\n";
    REQUIRE(send(fd.get(), junk, sizeof junk, MSG_NOSIGNAL) > 0);
    CHECK(peer_closes(fd.get()));
  }
  // Sizes out of range: 0 and 4 GiB - 1, in both request/response modes.
  for (char mode : {kPeerModeEcho, kPeerModePersistent})
    for (auto [req, resp] : {std::pair<uint32_t, uint32_t>{0, 1}, {1, 0xffffffffu}, {kPeerMaxMessage + 1, 1}}) {
      auto fd = connect_raw(peer.address());
      const std::string h = echo_header(req, resp, mode);
      REQUIRE(send(fd.get(), h.data(), h.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(h.size()));
      CHECK(peer_closes(fd.get()));
    }
  // Half a request, then a reset; half a header, then a reset; a sink reset
  // mid-stream; a connection that never says anything.
  {
    auto a = connect_raw(peer.address());
    std::string h = echo_header(1000, 1000);
    h.append(500, 'x');
    REQUIRE(send(a.get(), h.data(), h.size(), MSG_NOSIGNAL) > 0);
    close_with_reset(a);
    auto b = connect_raw(peer.address());
    REQUIRE(send(b.get(), h.data(), 4, MSG_NOSIGNAL) == 4);
    close_with_reset(b);
    auto c = connect_raw(peer.address());
    std::string s = "S";
    s.append(100000, 's');
    REQUIRE(send(c.get(), s.data(), s.size(), MSG_NOSIGNAL) > 0);
    close_with_reset(c);
    auto silent = connect_raw(peer.address());
    silent.reset();
  }
  // Clients that pipeline requests for 1 MiB responses and never read.
  for (char mode : {kPeerModeEcho, kPeerModePersistent}) {
    auto fd = connect_raw(peer.address());
    int flags = MSG_NOSIGNAL | MSG_DONTWAIT;
    std::string h = echo_header(1, kPeerMaxMessage, mode);
    h.append(10000, 'p');
    CHECK(send(fd.get(), h.data(), h.size(), flags) > 0);
    usleep(50000);
    close_with_reset(fd);
  }
  // Many connections opened and dropped at once.
  {
    std::vector<UniqueFd> many;
    for (int i = 0; i < 200; ++i) many.push_back(connect_raw(peer.address()));
    for (auto& fd : many) close_with_reset(fd);
  }
  // UDP: any datagram comes back unchanged.
  {
    auto u = connect_raw(peer.address(), SOCK_DGRAM);
    std::string junk(1000, '\0');
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 7);
    REQUIRE(send(u.get(), junk.data(), junk.size(), 0) == 1000);
    std::string back(2000, '\0');
    ssize_t n = recv(u.get(), back.data(), back.size(), 0);
    REQUIRE(n == 1000);
    back.resize(1000);
    CHECK(back == junk);
  }
  // After all that, the peer still serves real work.
  auto rr = run_workload("net.tcp_rr", {{"duration", "0.2s"}}, peer.address());
  REQUIRE(rr.ok());
  CHECK(metric(*rr, "tps").value > 0);
  auto crr = run_workload("net.tcp_crr", {{"duration", "0.1s"}}, peer.address());
  REQUIRE(crr.ok());
}

TEST_CASE("peer serves persistent connections beyond its thread cap on its event loops", "[net][peer]") {
  LoopbackPeer peer;
  // 64 get a thread each; the rest stay on the event loops. All must answer.
  std::vector<UniqueFd> conns;
  for (int i = 0; i < 80; ++i) {
    conns.push_back(connect_raw(peer.address()));
    const std::string h = echo_header(3, 5, kPeerModePersistent);
    REQUIRE(send(conns.back().get(), h.data(), h.size(), MSG_NOSIGNAL) == 9);
  }
  for (int round = 0; round < 3; ++round)
    for (auto& fd : conns) {
      REQUIRE(send(fd.get(), "abc", 3, MSG_NOSIGNAL) == 3);
      char resp[5];
      size_t have = 0;
      while (have < sizeof resp) {
        ssize_t n = recv(fd.get(), resp + have, sizeof resp - have, 0);
        REQUIRE(n > 0);
        have += static_cast<size_t>(n);
      }
      CHECK(std::string(resp, 5) == std::string(5, '\0'));
    }
  for (auto& fd : conns) close_with_reset(fd);
  // Stopping with connections still open (their threads blocked in recv)
  // ends within a few stop checks.
  std::vector<UniqueFd> open;
  for (int i = 0; i < 4; ++i) {
    open.push_back(connect_raw(peer.address()));
    const std::string h = echo_header(1, 1, kPeerModePersistent);
    REQUIRE(send(open.back().get(), h.data(), h.size(), MSG_NOSIGNAL) == 9);
  }
  usleep(50000);
  const uint64_t t0 = now_ns();
  peer.stop();
  CHECK(now_ns() - t0 < 2'000'000'000ull);
  for (auto& fd : open) CHECK(peer_closes(fd.get()));
}

TEST_CASE("net workloads fail clearly and quickly where nothing listens", "[net]") {
  // Port 1 on loopback: nothing listens there on a test machine, and the
  // kernel answers a SYN with RST and a datagram with ICMP port unreachable.
  for (const char* name : {"net.tcp_stream", "net.tcp_rr", "net.tcp_crr", "net.udp_rr"}) {
    INFO(name);
    const uint64_t t0 = now_ns();
    auto out = run_workload(name, {{"duration", "0.2s"}}, "127.0.0.1:1");
    REQUIRE_FALSE(out.ok());
    CHECK_THAT(out.error().message, Catch::Contains("127.0.0.1:1") && Catch::Contains("Connection refused"));
    CHECK(now_ns() - t0 < 3'000'000'000ull);
  }
  auto out = run_workload("net.tcp_rr", {}, "localhost:5201");
  REQUIRE_FALSE(out.ok());
  CHECK_THAT(out.error().message, Catch::Contains("network peer") && Catch::Contains("localhost:5201"));
}

TEST_CASE("os workloads", "[os]") {
  cpu_set_t before;
  REQUIRE(sched_getaffinity(0, sizeof before, &before) == 0);
  const double d = 0.2;

  SECTION("syscall") {
    auto out = run_workload("os.syscall", {{"duration", "0.2s"}});
    REQUIRE(out.ok());
    const Metric& m = metric(*out, "ns_per_call");
    CHECK(m.unit == "ns");
    CHECK(m.better == Better::Lower);
    CHECK(m.value > 1);       // a kernel entry costs more than a nanosecond
    CHECK(m.value < 100000);  // and far less than 100 us
  }
  SECTION("ctxswitch on one CPU and unpinned") {
    for (bool same_cpu : {true, false}) {
      INFO("same_cpu " << same_cpu);
      auto out = run_workload("os.ctxswitch", {{"duration", "0.2s"}, {"same_cpu", same_cpu}});
      REQUIRE(out.ok());
      check_rate_and_latency(*out, "rate", "ops/s", d);
      const Metric& per_switch = metric(*out, "ns_per_switch");
      CHECK(per_switch.unit == "ns");
      CHECK(per_switch.value == Approx(1e9 / metric(*out, "rate").value / 2).epsilon(1e-6));
      cpu_set_t after;
      REQUIRE(sched_getaffinity(0, sizeof after, &after) == 0);
      CHECK(CPU_EQUAL(&before, &after));  // the pin is undone
    }
  }
  SECTION("fork") {
    auto out = run_workload("os.fork", {{"duration", "0.2s"}});
    REQUIRE(out.ok());
    check_rate_and_latency(*out, "rate", "ops/s", d);
  }
  SECTION("thread") {
    auto out = run_workload("os.thread", {{"duration", "0.2s"}});
    REQUIRE(out.ok());
    check_rate_and_latency(*out, "rate", "ops/s", d);
  }
  SECTION("exec") {
    auto out = run_workload("os.exec", {{"duration", "0.2s"}, {"program", "/bin/true"}});
    REQUIRE(out.ok());
    check_rate_and_latency(*out, "rate", "ops/s", d);
  }
  SECTION("exec of a missing program fails with the reason") {
    auto out = run_workload("os.exec", {{"duration", "0.2s"}, {"program", "/nonexistent/vbench-noop"}});
    REQUIRE_FALSE(out.ok());
    CHECK_THAT(out.error().message, Catch::Contains("/nonexistent/vbench-noop") && Catch::Contains("127"));
  }
  // Every child was reaped.
  const pid_t left = waitpid(-1, nullptr, WNOHANG);
  const int err = errno;
  CHECK(left == -1);
  CHECK(err == ECHILD);
}
