// The container environment, for real: namespaces, cgroups (this host's v1
// hierarchies), veth links and the agent as PID 1. Each test checks that
// nothing of its containers remains afterwards.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <set>
#include <sstream>
#include <thread>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "drivers/container/cgroup.hpp"
#include "drivers/container/netlink.hpp"
#include "drivers/container/state.hpp"
#include "drivers/driver.hpp"
#include "support.hpp"
#include "workloads/registry.hpp"

using namespace vbench;

// REQUIRE for a Result, showing its error.
#define REQUIRE_OK(r)                    \
  do {                                   \
    if (!(r)) FAIL((r).error().message); \
  } while (0)

namespace {

Driver& container_driver() {
  Driver* d = find_driver("container");
  REQUIRE(d != nullptr);
  auto a = d->probe();
  if (!a.available) VB_SKIP("container environment unavailable: " + a.reason);
  return *d;
}

std::string unique_run_id() {
  static int n = 0;
  return fmt::format("vbtest-{}-{}", ::getpid(), n++);
}

EnvSpec make_spec(const std::string& run_id, const std::string& scratch,
                  std::map<std::string, nlohmann::json> knobs = {}) {
  EnvSpec s;
  s.name = "container";
  s.kind = "container";
  s.run_id = run_id;
  s.agent_path = vbtest::agent_bin();
  s.scratch_dir = scratch;
  s.knobs = std::move(knobs);
  s.start_timeout_s = 30;
  return s;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(path.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out.push_back(e->d_name);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Everything that carries the run id, anywhere vbench could have put it.
std::vector<std::string> leftovers(const std::string& run_id) {
  std::vector<std::string> found;
  if (path_exists(run_state_dir(run_id))) found.push_back(run_state_dir(run_id));
  for (const auto& n : list_dir(legacy_container_state_dir()))
    if (n.find(run_id) != std::string::npos) found.push_back(legacy_container_state_dir() + "/" + n);
  auto r = vbtest::run_command("find /sys/fs/cgroup -name '*" + run_id + "*'");
  if (!r.out.empty()) found.push_back("cgroup: " + r.out);
  if (auto rt = Rtnl::open())
    if (auto links = rt->links())
      for (const auto& l : *links)
        if (l.alias.find(run_id) != std::string::npos) found.push_back("link " + l.name);
  if (auto mi = read_file("/proc/self/mountinfo"))
    if (mi->find(run_id) != std::string::npos || mi->find("vbench-root") != std::string::npos)
      found.push_back("a mount in the host's mount table");
  return found;
}

std::string ns_of(const std::string& pid, const std::string& ns) {
  char buf[64] = {};
  ssize_t n = ::readlink(("/proc/" + pid + "/ns/" + ns).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

bool have_workload(const char* name) { return find_workload(name) != nullptr; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Connects from inside the container's network namespace to a TCP listener
// on the host at `addr` and returns the source address the host saw.
std::string connect_from_container(pid_t init_pid, const std::string& addr) {
  UniqueFd lst(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(lst);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  REQUIRE(inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) == 1);
  REQUIRE(::bind(lst.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(lst.get(), 4) == 0);
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(lst.get(), reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  std::atomic<int> client_err{-1};
  std::thread client([&] {
    UniqueFd ns(::open(fmt::format("/proc/{}/ns/net", init_pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns || ::setns(ns.get(), CLONE_NEWNET) != 0) {
      client_err = errno;
      return;
    }
    UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    timeval tv{5, 0};
    setsockopt(c.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    client_err = ::connect(c.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 ? 0 : errno;
    char b;
    (void)!::read(c.get(), &b, 1);  // until the host closes
  });
  pollfd p{lst.get(), POLLIN, 0};
  std::string seen;
  if (::poll(&p, 1, 5000) == 1) {
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    UniqueFd a(::accept(lst.get(), reinterpret_cast<sockaddr*>(&from), &fl));
    char buf[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &from.sin_addr, buf, sizeof buf);
    seen = buf;
  }
  client.join();
  INFO("connect errno " << client_err.load());
  return seen;
}

}  // namespace

TEST_CASE("container: inside, the agent is PID 1 with its own hostname, processes, links and mounts", "[container]") {
  auto& driver = container_driver();
  vbtest::TempDir scratch;
  const std::string run_id = unique_run_id();
  {
    auto session = driver.start(make_spec(run_id, scratch.path));
    REQUIRE_OK(session);
    auto d = (*session)->describe();
    INFO(d.dump(2));
    REQUIRE(d.contains("init_pid"));
    const std::string init = std::to_string(d["init_pid"].get<int>());
    CHECK(d["agent"]["pid"] == 1);
    char host_name[256] = {};
    gethostname(host_name, sizeof host_name - 1);
    const std::string inside = d["agent"]["hostname"];
    CHECK(inside != host_name);
    CHECK(inside.find(run_id) == 0);
    for (const char* ns : {"mnt", "pid", "net", "uts", "ipc", "cgroup"}) {
      INFO("namespace " << ns);
      CHECK(ns_of(init, ns) != ns_of("self", ns));
    }
    CHECK(ns_of(init, "user") == ns_of("self", "user"));  // userns is off by default

    // The container's own /proc (seen from here through its root) lists the
    // agent alone: no host process is visible.
    std::vector<std::string> procs;
    for (const auto& n : list_dir("/proc/" + init + "/root/proc"))
      if (std::all_of(n.begin(), n.end(), ::isdigit)) procs.push_back(n);
    CHECK(procs == std::vector<std::string>{"1"});
    // Only lo and its end of the veth.
    CHECK(list_dir("/proc/" + init + "/root/sys/class/net") == std::vector<std::string>{"eth0", "lo"});
    // Its mounts: its own root and the few it was given.
    auto mounts = read_file("/proc/" + init + "/mountinfo");
    REQUIRE(mounts);
    std::set<std::string> points;
    {
      std::istringstream in(*mounts);
      for (std::string line; std::getline(in, line);) {
        std::istringstream ls(line);
        std::string id, parent, dev, root, point;
        ls >> id >> parent >> dev >> root >> point;
        points.insert(point);
      }
    }
    const std::set<std::string> expected = {"/",         "/vbench-agent", "/proc",     "/sys",        "/dev",
                                            "/dev/null", "/dev/zero",     "/dev/full", "/dev/random", "/dev/urandom",
                                            "/dev/shm",  "/tmp",          "/scratch"};
    CHECK(points == expected);  // nothing of the host's tree, no old root
    // The host sees none of them.
    auto host_mounts = read_file("/proc/self/mountinfo");
    REQUIRE(host_mounts);
    CHECK(host_mounts->find(run_id) == std::string::npos);
    CHECK(host_mounts->find("vbench-root") == std::string::npos);
    // Its cgroup is vbench's, in every v1 hierarchy (or the v2 one).
    auto cg = read_file("/proc/" + init + "/cgroup");
    REQUIRE_OK(cg);
    CHECK(cg->find("/vbench/" + run_id + "-container") != std::string::npos);
    REQUIRE_OK((*session)->stop());
    REQUIRE_OK((*session)->stop());                         // idempotent
    CHECK_FALSE(path_exists("/proc/" + init + "/ns/net"));  // the init is gone
    auto lc = (*session)->lifecycle();
    REQUIRE(lc.size() == 2);
    CHECK(lc[0].name == "start_s");
    CHECK(lc[0].value > 0);
    CHECK(lc[0].value < 10);
    CHECK(lc[1].name == "teardown_s");
  }
  CHECK(leftovers(run_id).empty());
}

TEST_CASE("container: every network mode links the container to the host peer address", "[container]") {
  auto& driver = container_driver();
  for (const char* mode : {"veth", "bridge", "nat", "none"}) {
    DYNAMIC_SECTION("network = " << mode) {
      const std::string run_id = unique_run_id();
      {
        auto session = driver.start(make_spec(run_id, "", {{"network", mode}}));
        REQUIRE_OK(session);
        auto d = (*session)->describe();
        INFO(d.dump(2));
        const pid_t init = d["init_pid"].get<int>();
        auto net = d["network"];
        const std::string m = mode;
        if (m == "none") {
          CHECK(list_dir(fmt::format("/proc/{}/root/sys/class/net", init)) == std::vector<std::string>{"lo"});
        } else {
          const std::string peer = net["peer_address"], ctr = net["container_address"];
          CHECK(peer.rfind("198.1", 0) == 0);
          CHECK(ctr.rfind("198.1", 0) == 0);
          const std::string seen = connect_from_container(init, peer);
          if (m == "nat") {
            // Masqueraded: the host sees the router's uplink address, not the container's.
            CHECK(!seen.empty());
            CHECK(seen != ctr);
            CHECK(seen.rfind("198.1", 0) == 0);
          } else {
            CHECK(seen == ctr);
          }
        }
        REQUIRE_OK((*session)->stop());
      }
      CHECK(leftovers(run_id).empty());
    }
  }
}

TEST_CASE("container: impossible settings fail at start and leave nothing", "[container]") {
  auto& driver = container_driver();
  struct Case {
    std::map<std::string, nlohmann::json> knobs;
    const char* says;
  };
  const Case cases[] = {
      {{{"cpuset", "63"}}, "cpuset"}, {{{"memory", "1MiB"}}, "memory"},        {{{"network", "token-ring"}}, "network"},
      {{{"cpus", -1}}, "cpus"},       {{{"no_such_knob", 1}}, "no_such_knob"},
  };
  for (const auto& c : cases) {
    const std::string run_id = unique_run_id();
    auto session = driver.start(make_spec(run_id, "", c.knobs));
    REQUIRE_FALSE(session);
    INFO(session.error().message);
    CHECK(session.error().message.find(c.says) != std::string::npos);
    CHECK(leftovers(run_id).empty());
  }
  // An agent that cannot run inside (not there) is refused before anything exists.
  const std::string run_id = unique_run_id();
  auto spec = make_spec(run_id, "");
  spec.agent_path = "/nonexistent/vbench-agent";
  CHECK_FALSE(driver.start(spec));
  CHECK(leftovers(run_id).empty());
}

TEST_CASE("container: a user namespace and an overlay scratch work too", "[container]") {
  auto& driver = container_driver();
  vbtest::TempDir scratch;
  const std::string run_id = unique_run_id();
  {
    auto session = driver.start(make_spec(run_id, scratch.path, {{"userns", true}, {"scratch_overlay", true}}));
    REQUIRE_OK(session);
    auto d = (*session)->describe();
    INFO(d.dump(2));
    const std::string init = std::to_string(d["init_pid"].get<int>());
    CHECK(d["agent"]["pid"] == 1);
    CHECK(ns_of(init, "user") != ns_of("self", "user"));
    auto map = read_file("/proc/" + init + "/uid_map");
    REQUIRE(map);
    CHECK(map->find(" 0 ") != std::string::npos);
    auto mounts = read_file("/proc/" + init + "/mountinfo");
    REQUIRE(mounts);
    CHECK(mounts->find(" /scratch ") != std::string::npos);
    CHECK(mounts->find("overlay") != std::string::npos);
    CHECK(path_exists(scratch.path + "/.vbench-" + run_id + "-container/upper"));
    REQUIRE_OK((*session)->stop());
  }
  CHECK_FALSE(path_exists(scratch.path + "/.vbench-" + run_id + "-container"));
  CHECK(leftovers(run_id).empty());
}

TEST_CASE("container: an agent crash is a clean error, and stop still removes everything", "[container]") {
  auto& driver = container_driver();
  const std::string run_id = unique_run_id();
  {
    auto session = driver.start(make_spec(run_id, ""));
    REQUIRE_OK(session);
    const pid_t init = (*session)->describe()["init_pid"].get<int>();
    REQUIRE(::kill(init, SIGKILL) == 0);
    WorkloadRequest req;
    req.workload = "cpu.int";
    req.timeout_s = 5;
    auto s = (*session)->run(req);
    REQUIRE_FALSE(s);
    INFO(s.error().message);
    CHECK(s.error().message.find("the agent (the container's init) died: killed by signal 9") != std::string::npos);
    REQUIRE_OK((*session)->stop());
  }
  CHECK(leftovers(run_id).empty());
}

TEST_CASE("container: cgroup limits bite: cpus = 0.5 halves cpu.int", "[container]") {
  auto& driver = container_driver();
  if (!have_workload("cpu.int")) VB_SKIP("cpu.int is not built into this tree yet");
  const std::string free_id = unique_run_id(), half_id = unique_run_id();
  {
    auto free = driver.start(make_spec(free_id, ""));
    REQUIRE_OK(free);
    auto half = driver.start(make_spec(half_id, "", {{"cpus", 0.5}}));
    REQUIRE_OK(half);
    WorkloadRequest req;
    req.workload = "cpu.int";
    req.params = {{"duration", "1s"}};
    req.timeout_s = 60;
    std::vector<double> f, h;
    double throttled = 0;
    // Interleaved, so that load from elsewhere on this shared machine falls
    // on both alike; medians of three.
    for (int round = 0; round < 3; ++round) {
      auto a = (*free)->run(req);
      auto b = (*half)->run(req);
      REQUIRE_OK(a);
      REQUIRE_OK(b);
      INFO(a->error << " " << b->error);
      REQUIRE(a->ok);
      REQUIRE(b->ok);
      f.push_back(a->metric("ops")->value);
      h.push_back(b->metric("ops")->value);
      for (const auto& m : b->env_metrics)
        if (m.name == "cgroup.nr_throttled") throttled += m.value;
    }
    const double ratio = median(h) / median(f);
    INFO("free " << median(f) << " ops/s, cpus=0.5 " << median(h) << " ops/s, ratio " << ratio);
    CHECK(ratio > 0.4);
    CHECK(ratio < 0.6);
    CHECK(throttled > 0);
  }
  CHECK(leftovers(free_id).empty());
  CHECK(leftovers(half_id).empty());
}

TEST_CASE("container: a memory limit below the footprint is an OOM failure of that sample only", "[container]") {
  auto& driver = container_driver();
  const char* workload = have_workload("mem.pagefault") ? "mem.pagefault" : nullptr;
  if (!workload) VB_SKIP("mem.pagefault is not built into this tree yet");
  const std::string run_id = unique_run_id();
  {
    auto session = driver.start(make_spec(run_id, "", {{"memory", "64MiB"}}));
    REQUIRE_OK(session);
    WorkloadRequest big;
    big.workload = workload;
    big.params = {{"size", "256MiB"}};
    big.timeout_s = 60;
    auto s = (*session)->run(big);
    REQUIRE_OK(s);  // a failed sample, not an error
    INFO(s->error);
    CHECK_FALSE(s->ok);
    CHECK(s->error.find("out of memory") != std::string::npos);
    bool counted = false;
    for (const auto& m : s->env_metrics) counted = counted || (m.name == "cgroup.oom_kills" && m.value >= 1);
    CHECK(counted);
    // The agent survived its workload's OOM kill and serves the next one.
    WorkloadRequest small = big;
    small.params = {{"size", "8MiB"}};
    auto t = (*session)->run(small);
    REQUIRE_OK(t);
    INFO(t->error);
    CHECK(t->ok);
    REQUIRE_OK((*session)->stop());
  }
  CHECK(leftovers(run_id).empty());
}

TEST_CASE("container: after a SIGKILL of its owner, cleanup_stale removes the leftovers and nothing else",
          "[container]") {
  auto& driver = container_driver();
  const std::string dead_id = unique_run_id(), live_id = unique_run_id();
  auto live = driver.start(make_spec(live_id, ""));
  REQUIRE_OK(live);

  int pipefd[2];
  REQUIRE(::pipe(pipefd) == 0);
  pid_t owner = ::fork();
  REQUIRE(owner >= 0);
  if (owner == 0) {
    // The owner: starts a container, reports its init, and waits to be killed.
    ::close(pipefd[0]);
    auto s = driver.start(make_spec(dead_id, ""));
    int init = s ? (*s)->describe()["init_pid"].get<int>() : -1;
    (void)!::write(pipefd[1], &init, sizeof init);
    for (;;) pause();
  }
  ::close(pipefd[1]);
  int init = -1;
  REQUIRE(::read(pipefd[0], &init, sizeof init) == sizeof init);
  ::close(pipefd[0]);
  REQUIRE(init > 0);
  ::kill(owner, SIGKILL);
  int st;
  REQUIRE(::waitpid(owner, &st, 0) == owner);
  // The owner died without stopping anything: its record and cgroups stay.
  CHECK_FALSE(leftovers(dead_id).empty());

  REQUIRE_OK(driver.cleanup_stale());
  CHECK(leftovers(dead_id).empty());
  // The live run is untouched and still works.
  CHECK(path_exists(EnvState::dir_for(live_id, "container", "container") + "/" + kContainerRecord));
  // What an older vbench's cleanup reads: the record, by its old path, with
  // a live owner in it.
  auto old_view = read_record(legacy_container_state_dir() + "/" + live_id + "-container.json");
  REQUIRE_OK(old_view);
  REQUIRE(old_view->legacy_owner);
  CHECK(old_view->legacy_owner->pid == ::getpid());
  CHECK(process_alive(*old_view->legacy_owner));
  auto d = (*live)->describe();
  for (const auto& dir : d["cgroup_dirs"]) CHECK(path_exists(dir.get<std::string>()));
  REQUIRE_OK((*live)->stop());
  CHECK(leftovers(live_id).empty());
}

TEST_CASE("container: cleanup_stale removes an older vbench's records in /run/vbench/containers, not live ones",
          "[container]") {
  auto& driver = container_driver();
  auto host = detect_cgroups();
  REQUIRE_OK(host);
  const std::string dir = legacy_container_state_dir();
  REQUIRE_OK(mkdir_p(dir, 0700));
  pid_t child = ::fork();
  if (child == 0) _exit(0);
  auto dead_owner = process_identity(child);  // may already be gone: then start time 0 is never alive
  int st;
  REQUIRE(::waitpid(child, &st, 0) == child);
  auto self = process_identity(::getpid());
  REQUIRE(self);
  const std::string dead_id = unique_run_id(), live_id = unique_run_id();
  std::vector<std::unique_ptr<Cgroup>> cgs;
  // What an older vbench wrote: the owner in the record, the root beside it.
  auto legacy = [&](const std::string& run_id, pid_t pid, uint64_t start) {
    const std::string inst = run_id + "-container";
    auto cg = create_cgroup(*host, inst);
    REQUIRE_OK(cg);
    nlohmann::json j = {{"instance", inst},
                        {"run_id", run_id},
                        {"env", "container"},
                        {"owner_pid", pid},
                        {"owner_start", start},
                        {"cgroup_dirs", (*cg)->dirs()},
                        {"host_links", nlohmann::json::array()},
                        {"overlay_dir", ""},
                        {"rootfs_dir", ""}};
    REQUIRE_OK(write_file(dir + "/" + inst + ".json", j.dump(2)));
    REQUIRE(::mkdir((dir + "/" + inst + ".root").c_str(), 0755) == 0);
    cgs.push_back(std::move(*cg));
  };
  legacy(dead_id, child, dead_owner ? dead_owner->start_time : 1);
  legacy(live_id, self->pid, self->start_time);
  REQUIRE_FALSE(leftovers(dead_id).empty());

  REQUIRE_OK(driver.cleanup_stale());
  CHECK(leftovers(dead_id).empty());
  // The live (older) run's record, root and cgroup are all still there.
  CHECK(path_exists(dir + "/" + live_id + "-container.json"));
  CHECK(path_exists(dir + "/" + live_id + "-container.root"));
  for (const auto& d : cgs[1]->dirs()) CHECK(path_exists(d));

  REQUIRE_OK(cgs[1]->destroy());
  ::unlink((dir + "/" + live_id + "-container.json").c_str());
  ::rmdir((dir + "/" + live_id + "-container.root").c_str());
  ::rmdir(dir.c_str());
  CHECK(leftovers(live_id).empty());
}

TEST_CASE("container: an unreadable record of a live run spares every cgroup without a record", "[container]") {
  auto& driver = container_driver();
  auto host = detect_cgroups();
  REQUIRE_OK(host);
  const std::string live_id = unique_run_id(), orphan_id = unique_run_id();
  // A live run (this process) whose record cannot be read: whose pieces are
  // whose is not known, so none goes.
  auto state = EnvState::create(live_id, "container", "container");
  REQUIRE_OK(state);
  REQUIRE_OK(write_file(state->path(kContainerRecord), "{\"instance\": 42"));
  auto cg = create_cgroup(*host, orphan_id + "-container");
  REQUIRE_OK(cg);
  auto s = driver.cleanup_stale();
  REQUIRE_FALSE(s);
  CHECK_THAT(s.error().message, Catch::Contains(state->path(kContainerRecord)));
  for (const auto& d : (*cg)->dirs()) CHECK(path_exists(d));
  CHECK(path_exists(state->path(kContainerRecord)));
  // Without it, the orphan goes.
  REQUIRE_OK(state->remove());
  REQUIRE_OK(driver.cleanup_stale());
  CHECK(leftovers(orphan_id).empty());
  CHECK(leftovers(live_id).empty());
}

TEST_CASE("container cgroup on this host's real hierarchy: limits, a process, usage, removal", "[container]") {
  if (::geteuid() != 0) VB_SKIP("needs root to create cgroups");
  auto host = detect_cgroups();
  if (!host) VB_SKIP(host.error().message);
  const std::string name = unique_run_id() + "-cgtest";
  auto cg = create_cgroup(*host, name);
  REQUIRE_OK(cg);
  CgroupLimits l;
  l.cpus = 0.5;
  l.memory = 64ull << 20;
  l.pids = 16;
  REQUIRE_OK((*cg)->apply(l));
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const uint64_t end = now_ns() + 300'000'000ull;
    while (now_ns() < end) {
    }
    for (;;) pause();
  }
  REQUIRE_OK((*cg)->add_process(child));
  REQUIRE_OK((*cg)->reset_peak());
  auto u0 = (*cg)->usage();
  usleep(400000);
  auto u1 = (*cg)->usage();
  REQUIRE(u0.cpu_usage_s);
  REQUIRE(u1.cpu_usage_s);
  CHECK(*u1.cpu_usage_s > *u0.cpu_usage_s);
  CHECK(u1.memory_peak.has_value());
  CHECK(u1.nr_periods.value_or(0) > u0.nr_periods.value_or(0));
  // destroy() kills what is inside; reap it so that the cgroup can go.
  std::thread reap([&] {
    int st;
    ::waitpid(child, &st, 0);
  });
  REQUIRE_OK((*cg)->destroy());
  reap.join();
  for (const auto& d : (*cg)->dirs()) CHECK_FALSE(path_exists(d));
  CHECK(vbtest::run_command("find /sys/fs/cgroup -name '*" + name + "*'").out.empty());
}
