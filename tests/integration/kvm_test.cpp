// The kvm environment for real: boots the guest (under TCG where the host has
// no hardware KVM), runs workloads in it, and checks that failures are
// reported with the console tail and that nothing is left behind.
#include "drivers/kvm/kvm.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "drivers/kvm/accel.hpp"
#include "drivers/kvm/tap.hpp"
#include "support.hpp"
#include "workloads/registry.hpp"

using namespace vbench;

namespace {

// Skips unless the kvm driver can boot a guest here.
KvmDriver& driver_or_skip() {
  static KvmDriver d;
  if (::geteuid() != 0) VB_SKIP("kvm tests need root (tap devices)");
  auto a = d.probe();
  if (!a.available) VB_SKIP("kvm environment unavailable: " + a.reason);
  return d;
}

struct Env {
  vbtest::TempDir dir;
  EnvSpec spec;
  explicit Env(const std::string& tag) {
    static int n = 0;
    spec.name = "kvm";
    spec.kind = "kvm";
    spec.run_id = fmt::format("vb-test-{}-{}-{}", tag, ::getpid(), ++n);
    spec.agent_path = vbtest::agent_bin();
    spec.scratch_dir = dir.path + "/scratch";
    spec.out_dir = dir.path + "/out";
    spec.start_timeout_s = 180;  // TCG on a shared 2-core machine
    (void)mkdir_p(spec.scratch_dir);
  }
};

// The processes other than this one whose command line holds every needle.
std::vector<pid_t> processes_with(std::initializer_list<std::string_view> needles) {
  std::vector<pid_t> found;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      const pid_t pid = std::atoi(e->d_name);
      auto cmd = read_file(fmt::format("/proc/{}/cmdline", pid));
      if (!cmd || pid == ::getpid()) continue;
      if (std::all_of(needles.begin(), needles.end(),
                      [&](std::string_view n) { return cmd->find(n) != std::string::npos; }))
        found.push_back(pid);
    }
    closedir(d);
  }
  return found;
}

// Everything a kvm session of this run could have left: a QEMU process, the
// tap, the disk image, the run-state directory.
std::vector<std::string> leftovers(const EnvSpec& spec) {
  std::vector<std::string> found;
  for (pid_t pid : processes_with({spec.run_id})) found.push_back(fmt::format("process {}", pid));
  const std::string tap = tap_name_for(spec.run_id, spec.name);
  if (interface_exists(tap)) found.push_back("tap " + tap);
  if (path_exists("/run/vbench/" + spec.run_id)) found.push_back("/run/vbench/" + spec.run_id);
  if (DIR* d = opendir(spec.scratch_dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') found.push_back(spec.scratch_dir + "/" + e->d_name);
    closedir(d);
  }
  return found;
}

// The QEMU process of a session, found by its run id; -1 when there is none.
pid_t qemu_pid(const EnvSpec& spec) {
  const auto pids = processes_with({"qemu-system", spec.run_id});
  return pids.empty() ? -1 : pids.back();
}

double lifecycle(const Session& s, const std::string& name) {
  for (const auto& m : s.lifecycle())
    if (m.name == name) return m.value;
  return -1;
}

// Short parameters for the first workload of a family, so that a TCG guest
// gets through every family in reasonable time.
std::optional<WorkloadRequest> quick_request(const std::string& family) {
  for (const auto& w : all_workloads()) {
    if (w.family() != family) continue;
    WorkloadRequest r;
    r.workload = w.name;
    r.needs_peer = w.needs_peer;
    r.timeout_s = 300;
    for (const auto& p : w.params) {
      if (p.name == "duration") r.params["duration"] = "1s";
      if (p.name == "file_size") r.params["file_size"] = "64MiB";
      if (p.name == "ntimes") r.params["ntimes"] = 2;
      if (p.name == "size" && w.name == "mem.bandwidth") r.params["size"] = "16MiB";
      if (p.name == "max_size") r.params["max_size"] = "1MiB";
      if (p.name == "size" && w.name == "mem.pagefault") r.params["size"] = "32MiB";
    }
    return r;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("kvm: the guest boots, answers hello and runs a workload of every family", "[kvm]") {
  auto& d = driver_or_skip();
  Env env("boot");
  {
    auto s = d.start(env.spec);
    if (!s) FAIL(s.error().message);
    Session& session = **s;
    const bool hw = detect_host_kvm().hardware();
    CHECK(session.label() == (hw ? "kvm" : "kvm[tcg]"));
    if (!hw) {
      REQUIRE(session.warnings().size() == 1);
      CHECK_THAT(session.warnings()[0], Catch::Contains("emulator"));
    }
    const double boot_s = lifecycle(session, "boot_s");
    CHECK(boot_s > 0);
    CHECK(boot_s < env.spec.start_timeout_s);
    WARN(fmt::format("boot_s = {:.2f}", boot_s));
    auto desc = session.describe();
    CHECK(desc["accel"] == (hw ? "kvm" : "tcg"));
    // Multi-threaded TCG livelocks guests that patch kernel text: one thread.
    const pid_t qemu = qemu_pid(env.spec);
    REQUIRE(qemu > 0);
    auto cmdline = read_file(fmt::format("/proc/{}/cmdline", qemu));
    REQUIRE(cmdline);
    CHECK((cmdline->find(std::string("tcg,thread=single") + '\0') != std::string::npos) == !hw);
    CHECK(desc["guest"]["hostname"] == "vbench-guest");
    CHECK(desc["guest"]["pid"] == 1);
    CHECK(desc["initramfs"]["sha256"].get<std::string>().size() == 64);
    // The tap is up with the host address while the guest runs.
    CHECK(interface_exists(desc["net"]["tap"].get<std::string>()));

    for (const std::string family : {"cpu", "mem", "disk", "net", "os"}) {
      auto req = quick_request(family);
      if (!req) {
        WARN("no " + family + " workload registered yet: family not exercised");
        continue;
      }
      INFO(req->workload << " " << req->params.dump());
      auto sample = session.run(*req);
      REQUIRE(sample);
      INFO("error: " << sample->error);
      CHECK(sample->ok);
      CHECK_FALSE(sample->metrics.empty());
      const Metric* qemu_cpu = nullptr;
      for (const auto& m : sample->env_metrics)
        if (m.name == "qemu_cpu_s") qemu_cpu = &m;
      REQUIRE(qemu_cpu);
      CHECK(qemu_cpu->value > 0);
    }
    // A workload the agent does not know is a failed sample, and the guest lives on.
    WorkloadRequest bogus;
    bogus.workload = "no.such";
    auto failed = session.run(bogus);
    REQUIRE(failed);
    CHECK_FALSE(failed->ok);
    // A workload that outlives its timeout is ended by the agent: a failed
    // sample, and the guest lives on.
    WorkloadRequest slow;
    slow.workload = "cpu.int";
    slow.params = {{"duration", "30s"}};
    slow.timeout_s = 2;
    auto late = session.run(slow);
    REQUIRE(late);
    CHECK_FALSE(late->ok);
    INFO("timed-out sample: " << late->error);
    // A guest that stops answering altogether (here: QEMU stopped; in life, a
    // locked-up guest kernel) fails the request after the agent's own timeout
    // plus its grace, with the console attached and saved in full.
    REQUIRE(::kill(qemu, SIGSTOP) == 0);
    slow.params = {{"duration", "1s"}};
    auto stuck = session.run(slow);
    ::kill(qemu, SIGCONT);
    REQUIRE_FALSE(stuck);
    INFO(stuck.error().message);
    CHECK_THAT(stuck.error().message, Catch::Contains("did not answer within"));
    CHECK_THAT(stuck.error().message, Catch::Contains("console tail saved to"));
    CHECK_THAT(stuck.error().message, Catch::Contains("vbench-init:"));
    auto tail = read_file(env.spec.out_dir + "/kvm-console.log");
    REQUIRE(tail);
    CHECK_THAT(*tail, Catch::Contains("vbench-init: serving"));
    REQUIRE(session.stop());
    REQUIRE(session.stop());  // idempotent
  }
  CHECK(leftovers(env.spec).empty());
}

TEST_CASE("kvm: a broken init or a bogus kernel fails the environment with the reason", "[kvm]") {
  auto& d = driver_or_skip();
  SECTION("an /init that cannot run: qemu exits after the panic, the console tail is saved") {
    Env env("badinit");
    const std::string bogus_agent = env.dir.path + "/not-an-agent";
    REQUIRE(write_file(bogus_agent, "this is not an executable\n"));
    env.spec.agent_path = bogus_agent;
    const uint64_t t0 = now_ns();
    auto s = d.start(env.spec);
    const double took = static_cast<double>(now_ns() - t0) / 1e9;
    REQUIRE_FALSE(s);
    INFO(s.error().message);
    CHECK_THAT(s.error().message, Catch::Contains("qemu exited before the agent was ready"));
    CHECK_THAT(s.error().message, Catch::Contains("console tail saved to"));
    CHECK(took < env.spec.start_timeout_s);
    auto tail = read_file(env.spec.out_dir + "/kvm-console.log");
    REQUIRE(tail);
    CHECK_THAT(*tail, Catch::Contains("Kernel panic"));
    CHECK(leftovers(env.spec).empty());
  }
  SECTION("a file that is not a kernel is refused before anything is made") {
    Env env("badkernel");
    env.spec.knobs["kernel"] = "/etc/hostname";
    auto s = d.start(env.spec);
    REQUIRE_FALSE(s);
    CHECK_THAT(s.error().message, Catch::Contains("not a bzImage"));
    CHECK(leftovers(env.spec).empty());
  }
  SECTION("accel = kvm on a host without hardware KVM says why") {
    if (detect_host_kvm().hardware()) return;
    Env env("forcekvm");
    env.spec.knobs["accel"] = "kvm";
    auto s = d.start(env.spec);
    REQUIRE_FALSE(s);
    CHECK_THAT(s.error().message, Catch::Contains("no hardware-assisted KVM"));
    CHECK(leftovers(env.spec).empty());
  }
}

TEST_CASE("kvm: a guest that hangs fails within its timeout, with the console tail saved", "[kvm]") {
  auto& d = driver_or_skip();
  Env env("hang");
  // No init, and a panic that waits forever instead of rebooting: the guest
  // never becomes ready and QEMU stays up.
  env.spec.knobs["kernel_cmdline"] = "rdinit=/nonexistent panic=0";
  env.spec.start_timeout_s = 25;
  const uint64_t t0 = now_ns();
  auto s = d.start(env.spec);
  const double took = static_cast<double>(now_ns() - t0) / 1e9;
  REQUIRE_FALSE(s);
  INFO(s.error().message);
  CHECK_THAT(s.error().message, Catch::Contains("did not become ready within 25 s"));
  CHECK(took >= 25);
  CHECK(took < 25 + 30);  // initramfs, mkfs and stopping QEMU on top
  auto tail = read_file(env.spec.out_dir + "/kvm-console.log");
  REQUIRE(tail);
  CHECK_THAT(*tail, Catch::Contains("Linux version"));
  CHECK(leftovers(env.spec).empty());
}

TEST_CASE("kvm: after SIGKILL of vbench, cleanup_stale removes qemu, tap, image and state", "[kvm]") {
  auto& d = driver_or_skip();
  Env env("sigkill");
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t holder = fork();
  if (holder == 0) {
    // The holder plays vbench: it boots the guest, says so, and waits to be killed.
    ::close(ready[0]);
    auto s = d.start(env.spec);
    if (!s) std::fprintf(stderr, "holder: %s\n", s.error().message.c_str());
    char c = s ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    for (;;) pause();
  }
  ::close(ready[1]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  REQUIRE(c == 'y');
  CHECK_FALSE(leftovers(env.spec).empty());  // the guest is there
  ::kill(holder, SIGKILL);
  int status;
  waitpid(holder, &status, 0);
  auto cleaned = d.cleanup_stale();
  INFO((cleaned ? std::string() : cleaned.error().message));
  REQUIRE(cleaned);
  CHECK(leftovers(env.spec).empty());
}
