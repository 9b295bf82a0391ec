// Real runtimes as environments, for real: the agent under runc from a bundle
// vbench writes (`oci`), and in a container of a Docker daemon (`docker`).
// The tests start dockerd themselves when it is installed and not running,
// and stop what they started. Each checks by run id that nothing is left.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "analysis/summary.hpp"
#include "core/fs.hpp"
#include "drivers/driver.hpp"
#include "killed_run.hpp"
#include "model/results.hpp"
#include "support.hpp"
#include "workloads/registry.hpp"

using namespace vbtest;
using namespace vbench;

namespace {

std::string docker_cli() { return path_exists("/usr/bin/docker") ? "/usr/bin/docker" : "docker"; }

bool docker_answers() { return run_command(docker_cli() + " version --format '{{.Server.Version}}'").exit_code == 0; }

// Starts dockerd when it is installed and not running; stops it at scope
// exit if it started it. Skips (77) when Docker cannot run here.
class DockerDaemon {
 public:
  DockerDaemon() {
    if (::geteuid() != 0) VB_SKIP("needs root");
    if (docker_answers()) return;
    if (run_command("command -v dockerd").exit_code != 0)
      VB_SKIP("dockerd is not installed (ci/bootstrap installs docker.io)");
    // A live dockerd that does not answer is starting or stuck: not ours to
    // replace. A socket and pid file left by a dead one are not in the way
    // (dockerd replaces both).
    if (run_command("pgrep -x dockerd").exit_code == 0)
      VB_SKIP("a dockerd process is running but does not answer (starting or stuck)");
    pid_ = fork();
    if (pid_ == 0) {
      setsid();
      FILE* log = freopen("/tmp/vbench-test-dockerd.log", "w", stdout);
      (void)log;
      dup2(1, 2);
      // The default bridge in the benchmarking range (RFC 2544), not 172.17/16.
      execlp("dockerd", "dockerd", "--host", "unix:///var/run/docker.sock", "--bip", "198.19.254.1/24",
             static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 600 && !docker_answers(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!docker_answers()) {
      auto log = read_file("/tmp/vbench-test-dockerd.log");
      stop();
      VB_SKIP("dockerd did not come up within 60 s: " +
              (log ? log->substr(log->size() > 2000 ? log->size() - 2000 : 0) : std::string("(no log)")));
    }
  }
  ~DockerDaemon() { stop(); }
  bool started() const { return pid_ > 0; }

 private:
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int st;
    for (int i = 0; i < 300; ++i) {
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(pid_, SIGKILL);
    waitpid(pid_, &st, 0);
    pid_ = -1;
  }
  pid_t pid_ = -1;
};

// Podman's default network, for the tests, in the benchmarking range
// (198.19.253.0/24 on bridge vbtestpod0) instead of the packaged 10.88/16:
// a containers.conf of the test's own (CONTAINERS_CONF, inherited by
// vbench's podman service) pointing at a CNI config of its own. The bridge
// the CNI plugin makes is removed at scope exit.
class PodmanTestNetwork {
 public:
  PodmanTestNetwork() {
    const std::string netd = dir_.path + "/net.d";
    REQUIRE(mkdir_p(netd).ok());
    REQUIRE(write_file_atomic(netd + "/vbtest.conflist", R"({
  "cniVersion": "0.4.0",
  "name": "podman",
  "plugins": [
    {"type": "bridge", "bridge": "vbtestpod0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "routes": [{"dst": "0.0.0.0/0"}],
              "ranges": [[{"subnet": "198.19.253.0/24", "gateway": "198.19.253.1"}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall"},
    {"type": "tuning"}
  ]
}
)")
                .ok());
    REQUIRE(
        write_file_atomic(dir_.path + "/containers.conf", fmt::format("[network]\nnetwork_config_dir = \"{}\"\n", netd))
            .ok());
    ::setenv("CONTAINERS_CONF", (dir_.path + "/containers.conf").c_str(), 1);
  }
  ~PodmanTestNetwork() {
    ::unsetenv("CONTAINERS_CONF");
    (void)run_command("ip link del vbtestpod0 2>/dev/null");
  }

 private:
  TempDir dir_;
};

std::string unique_run_id() {
  static int n = 0;
  return fmt::format("vbtest-{}-{}", ::getpid(), n++);
}

// Everything of a run on the host and in Docker, one line each ("" = nothing).
std::string leftovers(const std::string& run_id) {
  std::vector<std::string> found;
  auto add = [&](const std::string& what, const std::string& out) {
    if (out.find_first_not_of(" \n") != std::string::npos) found.push_back(what + ": " + out);
  };
  add("cgroup", run_command("find /sys/fs/cgroup -name '*" + run_id + "*' 2>/dev/null; true").out);
  add("link", run_command("ip -o link show | grep -F '" + run_id + "'").out);
  add("mount", run_command("grep -F '" + run_id + "' /proc/self/mountinfo").out);
  add("process", run_command("pgrep -af -- '" + run_id + "' | grep -v pgrep").out);
  add("runc", run_command("runc list -q | grep -F '" + run_id + "'").out);
  add("state", run_command("for p in /run/vbench/" + run_id + " /run/vbench/containers/" + run_id +
                           "*; do [ -e \"$p\" ] && echo \"$p\"; done; true")
                   .out);
  if (docker_answers()) {
    const std::string d = docker_cli();
    add("docker container", run_command(d + " ps -a --format '{{.Names}}' | grep -F '" + run_id + "'").out);
    add("docker image", run_command(d + " images --format '{{.Repository}}:{{.Tag}}' | grep -F '" + run_id + "'").out);
    add("docker volume", run_command(d + " volume ls -q | grep -F '" + run_id + "'").out);
    add("docker network", run_command(d + " network ls --format '{{.Name}}' | grep -F '" + run_id + "'").out);
  }
  if (run_command("command -v podman").exit_code == 0) {
    add("podman container", run_command("podman ps -a --format '{{.Names}}' | grep -F '" + run_id + "'").out);
    add("podman image", run_command("podman images --format '{{.Repository}}' | grep -F '" + run_id + "'").out);
    add("podman volume", run_command("podman volume ls -q | grep -F '" + run_id + "'").out);
    add("podman service",
        run_command("pgrep -af 'podman.*system service' | grep -v pgrep | grep -F '" + run_id + "'").out);
  }
  add("rootfs layers", run_command("ls -d /var/lib/vbench/containers/*" + run_id + "* 2>/dev/null; true").out);
  std::string all;
  for (const auto& f : found) all += f + "\n";
  return all;
}

Driver& driver(const char* name) {
  Driver* d = find_driver(name);
  REQUIRE(d != nullptr);
  auto a = d->probe();
  if (!a.available) VB_SKIP(std::string(name) + " environment unavailable: " + a.reason);
  return *d;
}

EnvSpec spec_for(const char* kind, const std::string& run_id, const std::string& scratch) {
  EnvSpec s;
  s.name = kind;
  s.kind = kind;
  s.run_id = run_id;
  s.agent_path = agent_bin();
  s.scratch_dir = scratch;
  s.start_timeout_s = 60;
  return s;
}

double lifecycle(const Session& s, const std::string& name) {
  for (const auto& m : s.lifecycle())
    if (m.name == name) return m.value;
  return -1;
}

Sample run_one(Session& s, const std::string& workload, nlohmann::json params) {
  const WorkloadDef* def = find_workload(workload);
  REQUIRE(def != nullptr);
  WorkloadRequest req;
  req.workload = workload;
  req.params = std::move(params);
  req.needs_peer = def->needs_peer;
  req.timeout_s = 60;
  auto r = s.run(req);
  if (!r) FAIL(r.error().message);
  INFO(workload << ": " << r->error);
  CHECK(r->ok);
  return *r;
}

}  // namespace

TEST_CASE("oci: the agent under runc answers, reaches the host peer, and leaves nothing", "[oci]") {
  Driver& d = driver("oci");
  TempDir scratch;
  for (const char* mode : {"veth", "nat"}) {
    DYNAMIC_SECTION("network " << mode) {
      const std::string run_id = unique_run_id();
      EnvSpec spec = spec_for("oci", run_id, scratch.path);
      spec.knobs["network"] = mode;
      spec.knobs["memory"] = "256MiB";
      spec.knobs["pids"] = 128;
      auto s = d.start(spec);
      if (!s) FAIL(s.error().message);
      CHECK(lifecycle(**s, "create_s") > 0);
      CHECK(lifecycle(**s, "start_s") > 0);
      auto desc = (*s)->describe();
      CHECK(desc["runtime"]["version"].get<std::string>().find("runc version") == 0);
      // The runtime made the container: runc knows it by the instance name,
      // and its cgroup is under vbench's parent with the memory limit.
      const std::string id = desc["instance"];
      CHECK(run_command("runc list -q").out.find(id) != std::string::npos);
      auto limit = read_line("/sys/fs/cgroup/memory/vbench/" + id + "/memory.limit_in_bytes");
      if (path_exists("/sys/fs/cgroup/memory")) {
        REQUIRE(limit);
        CHECK(*limit == std::to_string(256ull << 20));
      }
      run_one(**s, "os.syscall", {{"duration", "200ms"}});
      run_one(**s, "disk.seqwrite", {{"file_size", "16MiB"}, {"duration", "200ms"}});
      auto rr = run_one(**s, "net.tcp_rr", {{"duration", "300ms"}});
      CHECK_FALSE(rr.metrics.empty());
      REQUIRE((*s)->stop().ok());
      CHECK(lifecycle(**s, "teardown_s") > 0);
      s->reset();
      CHECK(leftovers(run_id) == "");
    }
  }
}

TEST_CASE("oci: a runtime that refuses this host is an error in its own words, and nothing is left", "[oci]") {
  Driver& d = driver("oci");
  const std::string run_id = unique_run_id();
  EnvSpec spec = spec_for("oci", run_id, "");
  SECTION("a runtime that does not exist") {
    spec.knobs["runtime"] = "/nonexistent/runtime";
    auto s = d.start(spec);
    REQUIRE_FALSE(s);
    CHECK_THAT(s.error().message, Catch::Contains("/nonexistent/runtime") && Catch::Contains("not found"));
  }
  SECTION("crun (on a host whose cgroup layout it cannot use)") {
    if (run_command("command -v crun").exit_code != 0) VB_SKIP("crun is not installed (ci/bootstrap installs it)");
    spec.knobs["runtime"] = "crun";
    auto s = d.start(spec);
    if (s) {
      // A host where crun works: then it must really work.
      auto h = run_one(**s, "os.syscall", {{"duration", "100ms"}});
      CHECK((*s)->stop().ok());
    } else {
      INFO(s.error().message);
      CHECK_THAT(s.error().message, Catch::Contains("`crun create` failed"));
      // What crun said is in the error, not only that it failed.
      CHECK(s.error().message.find("failed (exit status 1): ") != std::string::npos);
      // And `vbench list` shows the same words for crun.
      auto l = run_command(vbench_bin() + " list");
      CHECK_THAT(l.out, Catch::Contains("runtime crun") && Catch::Contains("refuses this host"));
    }
  }
  CHECK(leftovers(run_id) == "");
}

TEST_CASE("docker: the agent in a Docker container, each network and storage mode, nothing left", "[docker]") {
  DockerDaemon daemon;
  Driver& d = driver("docker");
  TempDir scratch;
  struct Case {
    const char* network;
    const char* storage;
    const char* seccomp;
  };
  for (const Case& c :
       {Case{"bridge", "bind", "default"}, Case{"host", "volume", "unconfined"}, Case{"none", "overlay", "default"}}) {
    DYNAMIC_SECTION("network " << c.network << ", storage " << c.storage << ", seccomp " << c.seccomp) {
      const std::string run_id = unique_run_id();
      EnvSpec spec = spec_for("docker", run_id, scratch.path);
      spec.knobs["network"] = c.network;
      spec.knobs["storage"] = c.storage;
      spec.knobs["seccomp"] = c.seccomp;
      spec.knobs["memory"] = "256MiB";
      spec.knobs["cpus"] = 1.5;
      auto s = d.start(spec);
      if (!s) FAIL(s.error().message);
      for (const char* m : {"image_s", "create_s", "start_s"}) CHECK(lifecycle(**s, m) > 0);
      auto desc = (*s)->describe();
      INFO(desc.dump());
      CHECK_FALSE(desc["daemon"]["server_version"].get<std::string>().empty());
      CHECK_FALSE(desc["daemon"]["storage_driver"].get<std::string>().empty());
      // The daemon applied the knobs.
      const std::string id = desc["instance"];
      auto insp = run_command(docker_cli() +
                              " inspect --format '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} "
                              "{{.HostConfig.NetworkMode}} {{json .HostConfig.SecurityOpt}}' " +
                              id);
      CHECK_THAT(insp.out, Catch::Contains(fmt::format("{} 1500000000 {}", 256ull << 20, c.network)));
      if (std::string(c.seccomp) == "unconfined") CHECK_THAT(insp.out, Catch::Contains("seccomp=unconfined"));
      run_one(**s, "os.syscall", {{"duration", "200ms"}});
      run_one(**s, "disk.seqwrite", {{"file_size", "16MiB"}, {"duration", "200ms"}});
      if (std::string(c.storage) == "volume")
        CHECK(run_command(docker_cli() + " volume ls -q").out.find(id) != std::string::npos);
      WorkloadRequest req;
      req.workload = "net.tcp_rr";
      req.params = {{"duration", "300ms"}};
      req.needs_peer = true;
      auto rr = (*s)->run(req);
      REQUIRE(rr);
      INFO(rr->error);
      CHECK(rr->ok == (std::string(c.network) != "none"));
      REQUIRE((*s)->stop().ok());
      CHECK(lifecycle(**s, "teardown_s") > 0);
      s->reset();
      CHECK(leftovers(run_id) == "");
    }
  }
}

TEST_CASE("container bridge and nat still reach the host peer with Docker's iptables rules present",
          "[docker][container]") {
  DockerDaemon daemon;
  // Docker sets the FORWARD policy to DROP (when it is the one to turn
  // ip_forward on; podman's CNI bridge or an earlier run may have done that
  // first) and loads br_netfilter. The test makes sure of the DROP itself.
  struct ForwardDrop {
    bool set_here = false;
    ForwardDrop() {
      if (run_command("iptables -S FORWARD | head -1").out.find("-P FORWARD DROP") == std::string::npos)
        set_here = run_command("iptables -P FORWARD DROP").exit_code == 0;
    }
    ~ForwardDrop() {
      if (set_here) (void)run_command("iptables -P FORWARD ACCEPT");
    }
  } drop;
  auto policy = run_command("iptables -S FORWARD | head -1");
  INFO(policy.out);
  REQUIRE_THAT(policy.out, Catch::Contains("-P FORWARD DROP"));
  Driver& d = driver("container");
  for (const char* mode : {"bridge", "nat"}) {
    DYNAMIC_SECTION("network " << mode) {
      const std::string run_id = unique_run_id();
      EnvSpec spec = spec_for("container", run_id, "");
      spec.knobs["network"] = mode;
      auto s = d.start(spec);
      if (!s) FAIL(s.error().message);
      run_one(**s, "net.tcp_rr", {{"duration", "300ms"}});
      run_one(**s, "net.tcp_stream", {{"duration", "300ms"}});
      REQUIRE((*s)->stop().ok());
      s->reset();
      CHECK(leftovers(run_id) == "");
    }
  }
}

TEST_CASE("smoke in bare, container, oci and docker: ratios for every workload, lifecycle, nothing left",
          "[run][oci][docker]") {
  DockerDaemon daemon;
  driver("container");
  driver("oci");
  driver("docker");
  TempDir out;
  const std::string dir = out.path + "/r";
  auto r = run_command(vbench_bin() + " run --suite smoke --env bare,container,oci,docker --out " + dir);
  INFO(r.out);
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));
  auto rs = load_results(dir + "/results.json");
  REQUIRE(rs.ok());
  CHECK(r.exit_code == 0);
  std::map<std::string, std::set<std::string>> ran;
  for (const auto& s : rs->samples) {
    INFO(s.env << " " << s.workload << ": " << s.error);
    CHECK(s.ok);
    ran[s.env].insert(s.workload);
  }
  REQUIRE_FALSE(ran["bare"].empty());
  for (const char* e : {"container", "oci", "docker"}) CHECK(ran[e] == ran["bare"]);
  for (const auto& e : rs->envs) {
    if (e.label != "oci" && e.label != "docker") continue;
    std::set<std::string> names;
    for (const auto& m : e.lifecycle) names.insert(m.name);
    INFO(e.label);
    for (const char* m : {"create_s", "start_s", "teardown_s"}) CHECK(names.count(m) == 1);
  }
  auto summary = summarize_run(*rs, "bare", 1);
  std::map<std::string, std::set<std::string>> with_ratio;
  for (const auto& row : summary.rows)
    if (row.source == "workload" && row.has_ratio && row.ratio.ok()) with_ratio[row.env].insert(row.workload);
  for (const char* e : {"container", "oci", "docker"}) CHECK(with_ratio[e] == ran["bare"]);
  CHECK(leftovers(rs->meta.run_id) == "");
}

TEST_CASE("after a SIGKILL of vbench mid docker run, `vbench cleanup` leaves nothing", "[run][docker][signal]") {
  DockerDaemon daemon;
  driver("docker");
  driver("oci");
  const auto k = kill_mid_run_then_cleanup("bare,oci,docker", std::chrono::seconds(1), leftovers);
  INFO(k.log);
  REQUIRE(k.up);
  REQUIRE_FALSE(k.run_id.empty());
  INFO("left by the killed run:\n" << k.before);
  CHECK_THAT(k.before, Catch::Contains("docker container") && Catch::Contains("runc"));
  INFO(k.cleanup.out);
  CHECK(k.cleanup.exit_code == 0);
  CHECK(k.after == "");
}

TEST_CASE("container: Docker's layers one at a time are in force in the agent, and every workload family runs",
          "[container][seccomp]") {
  Driver& d = driver("container");
  TempDir scratch;
  const std::string run_id = unique_run_id();
  EnvSpec spec = spec_for("container", run_id, scratch.path);
  spec.knobs["seccomp"] = "docker-default";
  spec.knobs["capabilities"] = "docker-default";
  spec.knobs["no_new_privs"] = true;
  auto s = d.start(spec);
  if (!s) FAIL(s.error().message);
  auto desc = (*s)->describe();
  CHECK(desc["seccomp"] == "docker-default");
  const int init = desc["init_pid"];
  auto status = read_file(fmt::format("/proc/{}/status", init));
  REQUIRE(status);
  CHECK_THAT(*status, Catch::Contains("Seccomp:\t2"));
  CHECK_THAT(*status, Catch::Contains("NoNewPrivs:\t1"));
  // Docker's 14 capabilities: 0xa80425fb.
  CHECK_THAT(*status, Catch::Contains("CapBnd:\t00000000a80425fb"));
  for (const char* w : {"os.syscall", "os.fork", "os.exec", "os.thread", "net.tcp_rr"})
    run_one(**s, w, {{"duration", "200ms"}});
  run_one(**s, "disk.randread", {{"file_size", "16MiB"}, {"duration", "200ms"}});
  REQUIRE((*s)->stop().ok());
  s->reset();
  CHECK(leftovers(run_id) == "");
}

TEST_CASE("container: rootfs = overlay puts the root on overlayfs with a writable layer on disk, removed after",
          "[container][rootfs]") {
  Driver& d = driver("container");
  TempDir scratch;
  const std::string run_id = unique_run_id();
  EnvSpec spec = spec_for("container", run_id, scratch.path);
  spec.knobs["rootfs"] = "overlay";
  auto s = d.start(spec);
  if (!s) FAIL(s.error().message);
  auto desc = (*s)->describe();
  INFO(desc.dump());
  CHECK_THAT(desc["rootfs"].get<std::string>(), Catch::StartsWith("overlay"));
  const int init = desc["init_pid"];
  // The container's own mount table: its root is overlayfs whose upper
  // layer is the instance's directory on the host's disk.
  auto mounts = read_file(fmt::format("/proc/{}/mountinfo", init));
  REQUIRE(mounts);
  std::string root_line;
  for (size_t pos = 0; pos < mounts->size();) {
    size_t nl = mounts->find('\n', pos);
    if (nl == std::string::npos) nl = mounts->size();
    const std::string line = mounts->substr(pos, nl - pos);
    pos = nl + 1;
    if (line.find(" / / ") != std::string::npos) root_line = line;
  }
  INFO(root_line);
  CHECK_THAT(root_line, Catch::Contains(" - overlay ") && Catch::Contains("upperdir=/var/lib/vbench/containers/"));
  CHECK_THAT(root_line, Catch::Contains(run_id));
  CHECK_FALSE(run_command("ls -d /var/lib/vbench/containers/*" + run_id + "*/upper").out.empty());
  // exec goes through the overlay (the agent is a file in the lower layer).
  for (const char* w : {"os.exec", "os.fork", "os.syscall"}) run_one(**s, w, {{"duration", "200ms"}});
  run_one(**s, "disk.randread", {{"file_size", "16MiB"}, {"duration", "200ms"}});
  REQUIRE((*s)->stop().ok());
  s->reset();
  CHECK(leftovers(run_id) == "");
}

TEST_CASE("container: a rootfs that is neither tmpfs nor overlay is refused by name", "[container][rootfs]") {
  Driver& d = driver("container");
  EnvSpec spec = spec_for("container", unique_run_id(), "");
  spec.knobs["rootfs"] = "btrfs";
  auto s = d.start(spec);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.error().message, Catch::Contains("rootfs") && Catch::Contains("tmpfs") && Catch::Contains("overlay"));
}

TEST_CASE("podman: the agent in a Podman container through vbench's own service, each network, nothing left",
          "[podman]") {
  PodmanTestNetwork net;
  Driver& d = driver("podman");
  CHECK_THAT(d.probe().reason, Catch::Contains("runc"));
  TempDir scratch;
  for (const char* network : {"bridge", "host", "none"}) {
    DYNAMIC_SECTION("network " << network) {
      const std::string run_id = unique_run_id();
      EnvSpec spec = spec_for("podman", run_id, scratch.path);
      spec.knobs["network"] = network;
      spec.knobs["storage"] = std::string(network) == "host" ? "volume" : "bind";
      spec.knobs["memory"] = "256MiB";
      auto s = d.start(spec);
      if (!s) FAIL(s.error().message);
      for (const char* m : {"service_s", "image_s", "create_s", "start_s"}) CHECK(lifecycle(**s, m) > 0);
      auto desc = (*s)->describe();
      INFO(desc.dump());
      CHECK(desc["engine"] == "podman");
      CHECK(desc["runtime"] == "runc");
      // The agent got bare metal's open-files limit, not podman's default.
      const std::string id = desc["instance"];
      auto insp = run_command("podman inspect --format '{{.HostConfig.Memory}} {{json .HostConfig.Ulimits}}' " + id);
      CHECK_THAT(insp.out, Catch::Contains(std::to_string(256ull << 20)));
      CHECK_THAT(insp.out, Catch::Contains("RLIMIT_NOFILE"));
      run_one(**s, "os.syscall", {{"duration", "200ms"}});
      run_one(**s, "disk.seqwrite", {{"file_size", "16MiB"}, {"duration", "200ms"}});
      WorkloadRequest req;
      req.workload = "net.tcp_rr";
      req.params = {{"duration", "300ms"}};
      req.needs_peer = true;
      auto rr = (*s)->run(req);
      REQUIRE(rr);
      INFO(rr->error);
      CHECK(rr->ok == (std::string(network) != "none"));
      auto stopped = (*s)->stop();
      INFO((stopped ? std::string() : stopped.error().message));
      REQUIRE(stopped.ok());
      CHECK(lifecycle(**s, "teardown_s") > 0);
      s->reset();
      CHECK(leftovers(run_id) == "");
    }
  }
}

TEST_CASE("podman: a runtime that refuses this host fails the start in its own words, and nothing is left",
          "[podman]") {
  PodmanTestNetwork net;
  Driver& d = driver("podman");
  if (run_command("command -v crun").exit_code != 0) VB_SKIP("crun is not installed");
  const std::string run_id = unique_run_id();
  EnvSpec spec = spec_for("podman", run_id, "");
  spec.knobs["runtime"] = "crun";
  spec.knobs["network"] = "none";
  auto s = d.start(spec);
  if (s) {
    // crun works on this host (pure cgroup v2): then it must really run.
    run_one(**s, "os.syscall", {{"duration", "200ms"}});
    REQUIRE((*s)->stop().ok());
    s->reset();
  } else {
    INFO(s.error().message);
    CHECK_THAT(s.error().message, Catch::Contains("podman") && Catch::Contains("crun"));
  }
  CHECK(leftovers(run_id) == "");
}

TEST_CASE("after a SIGKILL of vbench mid podman run, `vbench cleanup` leaves nothing", "[run][podman][signal]") {
  PodmanTestNetwork net;
  driver("podman");
  // The service dies with vbench (PR_SET_PDEATHSIG); the container, run by
  // conmon, does not.
  auto service_gone = [](const std::string& run_id) {
    return run_command("pgrep -af 'podman.*system service' | grep -v pgrep | grep -F '" + run_id + "'").out.empty();
  };
  const auto k = kill_mid_run_then_cleanup("bare,podman", std::chrono::milliseconds(0), leftovers, service_gone);
  INFO(k.log);
  REQUIRE(k.up);
  REQUIRE_FALSE(k.run_id.empty());
  INFO("left by the killed run:\n" << k.before);
  CHECK_THAT(k.before, Catch::Contains("podman container"));
  CHECK_THAT(k.before, !Catch::Contains("podman service"));
  INFO(k.cleanup.out);
  CHECK(k.cleanup.exit_code == 0);
  CHECK(k.after == "");
}
