// disk.*: each workload really runs, briefly, on a small file in a scratch
// directory on a disk filesystem; the error cases are made real too (a
// missing directory, ramfs without O_DIRECT, a full tmpfs, io_uring blocked by
// seccomp). Everything created is removed again.
#include <dirent.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "agent/protocol.hpp"
#include "core/clock.hpp"
#include "core/fs.hpp"
#include "skip.hpp"
#include "workloads/disk.hpp"
#include "workloads/registry.hpp"

using namespace vbench;

namespace {

constexpr long kTmpfsMagic = 0x01021994;
constexpr long kRamfsMagic = 0x858458F6;

bool on_memory_fs(const std::string& path) {
  struct statfs sf;
  return ::statfs(path.c_str(), &sf) == 0 && (sf.f_type == kTmpfsMagic || sf.f_type == kRamfsMagic);
}

// A fresh directory, removed (with anything left in it) at the end.
class TempDir {
 public:
  explicit TempDir(const std::string& parent) {
    std::string tmpl = parent + "/vbench-disk-test-XXXXXX";
    if (::mkdtemp(tmpl.data())) path_ = tmpl;
  }
  ~TempDir() {
    if (!path_.empty()) (void)remove_tree(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The scratch parent: /var/tmp, as long as it is on a disk (O_DIRECT and
// fallocate behave there as on a user's scratch disk); else the build tree.
std::string disk_parent() {
  if (!on_memory_fs("/var/tmp")) return "/var/tmp";
  char cwd[4096];
  return ::getcwd(cwd, sizeof cwd) ? cwd : ".";
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::string n = e->d_name; n != "." && n != "..") out.push_back(n);
    ::closedir(d);
  }
  return out;
}

Sample run(const std::string& workload, const std::string& scratch, nlohmann::json params,
           const std::atomic<bool>* stop = nullptr) {
  RunRequest req;
  req.workload = workload;
  req.scratch = scratch;
  req.params = std::move(params);
  return run_workload_here(req, stop);
}

WorkloadContext context(const std::string& workload, const std::string& scratch,
                        const std::map<std::string, nlohmann::json>& given) {
  const WorkloadDef* def = find_workload(workload);
  REQUIRE(def);
  auto p = resolve_params(*def, given);
  REQUIRE(p.ok());
  WorkloadContext ctx;
  ctx.params = *p;
  ctx.scratch_dir = scratch;
  return ctx;
}

// Mounts a fresh filesystem of `type` on a new directory; unmounts and removes
// it at the end. Needs CAP_SYS_ADMIN in our mount namespace.
class ScratchMount {
 public:
  ScratchMount(const std::string& type, const std::string& options) : dir_(disk_parent()) {
    if (dir_.path().empty()) return;
    // A new superblock of `type` with no device behind it ("none"); the options
    // string is the filesystem's own (e.g. tmpfs size=4m).
    mounted_ = ::mount("none", dir_.path().c_str(), type.c_str(), MS_NOSUID | MS_NODEV,
                       options.empty() ? nullptr : options.c_str()) == 0;
    if (!mounted_) why_ = std::strerror(errno);
  }
  ~ScratchMount() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }
  const std::string& path() const { return dir_.path(); }

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string why_;
};

const Metric& metric(const Sample& s, const std::string& name) {
  const Metric* m = s.metric(name);
  INFO("metric " << name);
  REQUIRE(m);
  return *m;
}

void check_latency_metrics(const Sample& s) {
  for (const char* n : {"lat_p50", "lat_p90", "lat_p99", "lat_p99.9", "lat_max"}) {
    const Metric& m = metric(s, n);
    CHECK(m.unit == "us");
    CHECK(m.better == Better::Lower);
    CHECK(m.value > 0);
  }
  CHECK(metric(s, "lat_p50").value <= metric(s, "lat_p99").value);
  CHECK(metric(s, "lat_p99").value <= metric(s, "lat_max").value);
  REQUIRE(s.histograms.count("latency") == 1);
  CHECK(s.histograms.at("latency").count() > 0);
}

}  // namespace

TEST_CASE("disk workloads are in the table with their public parameters", "[disk]") {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"disk.seqread", {"bs", "file_size", "duration", "direct"}},
      {"disk.seqwrite", {"bs", "file_size", "duration", "direct"}},
      {"disk.randread", {"bs", "qd", "file_size", "duration", "direct"}},
      {"disk.randwrite", {"bs", "qd", "file_size", "duration", "direct"}},
      {"disk.fsync", {"bs", "file_size", "duration"}},
  };
  for (const auto& [name, params] : expected) {
    INFO(name);
    const WorkloadDef* def = find_workload(name);
    REQUIRE(def);
    CHECK(def->needs_scratch);
    CHECK(def->params.size() == params.size());
    for (const auto& p : params) CHECK(def->param(p));
  }
  CHECK(find_workload("disk.seqread")->param("bs")->default_value == "1MiB");
  CHECK(find_workload("disk.randread")->param("bs")->default_value == "4k");
  CHECK(find_workload("disk.randread")->param("qd")->default_value == "1");
  CHECK(find_workload("disk.randwrite")->param("direct")->default_value == "true");
  CHECK(find_workload("disk.fsync")->param("bs")->default_value == "4k");
}

TEST_CASE("disk workloads run and report their metrics", "[disk]") {
  TempDir dir(disk_parent());
  REQUIRE(!dir.path().empty());
  struct Case {
    std::string workload;
    nlohmann::json extra;
  };
  const std::vector<Case> cases = {
      {"disk.seqread", nlohmann::json::object()},
      {"disk.seqread", {{"direct", "false"}}},
      {"disk.seqwrite", nlohmann::json::object()},
      {"disk.seqwrite", {{"direct", "false"}}},
      {"disk.randread", nlohmann::json::object()},
      {"disk.randread", {{"qd", "8"}}},
      {"disk.randread", {{"direct", "false"}, {"qd", "4"}}},
      {"disk.randwrite", nlohmann::json::object()},
      {"disk.randwrite", {{"qd", "4"}, {"bs", "8k"}}},
      {"disk.fsync", nlohmann::json::object()},
  };
  for (const auto& c : cases) {
    nlohmann::json params = {{"file_size", "16MiB"}, {"duration", "0.2s"}};
    params.update(c.extra);
    INFO(c.workload << " " << params.dump());
    const uint64_t t0 = now_ns();
    Sample s = run(c.workload, dir.path(), params);
    const double wall = static_cast<double>(now_ns() - t0) / 1e9;
    INFO(s.error);
    REQUIRE(s.ok);
    CHECK(wall < 30);  // set-up of 16 MiB plus 0.2 s, on a busy machine
    CHECK(entries(dir.path()).empty());
    const uint64_t bs = s.params.at("bs").get<uint64_t>();

    if (c.workload == "disk.fsync") {
      const Metric& ops = metric(s, "ops");
      CHECK(ops.unit == "ops/s");
      CHECK(ops.better == Better::Higher);
      CHECK(ops.value > 0);
      check_latency_metrics(s);
      // The histogram holds one value per op: count / rate is the measured time,
      // which runs from the first op to the end of the last (>= duration).
      const double secs = static_cast<double>(s.histograms.at("latency").count()) / ops.value;
      CHECK(secs >= 0.2 * (1 - 1e-9));
      CHECK(secs < 20);
      continue;
    }
    const Metric& bw = metric(s, "bandwidth");
    const Metric& iops = metric(s, "iops");
    CHECK(bw.unit == "MB/s");
    CHECK(iops.unit == "IO/s");
    CHECK(bw.better == Better::Higher);
    CHECK(iops.better == Better::Higher);
    CHECK(iops.value > 0);
    // Every I/O moves bs bytes, and 1 MB is 1e6 bytes.
    CHECK(bw.value == Approx(iops.value * static_cast<double>(bs) / 1e6).epsilon(1e-9));
    if (c.workload == "disk.randread" || c.workload == "disk.randwrite") {
      check_latency_metrics(s);
      const double secs = static_cast<double>(s.histograms.at("latency").count()) / iops.value;
      CHECK(secs >= 0.2 * (1 - 1e-9));
      CHECK(secs < 20);
    } else {
      CHECK(s.histograms.empty());
      CHECK(!s.metric("lat_p50"));
    }
  }
}

TEST_CASE("disk latency histograms count exactly the I/Os that completed", "[disk]") {
  TempDir dir(disk_parent());
  REQUIRE(!dir.path().empty());
  struct Case {
    disk::Pattern pattern;
    std::string workload;
    std::map<std::string, nlohmann::json> params;
  };
  const std::vector<Case> cases = {
      {disk::Pattern::RandRead, "disk.randread", {{"qd", "1"}}},
      {disk::Pattern::RandRead, "disk.randread", {{"qd", "16"}}},
      {disk::Pattern::RandWrite, "disk.randwrite", {{"qd", "1"}}},
      {disk::Pattern::RandWrite, "disk.randwrite", {{"qd", "8"}}},
      {disk::Pattern::Fsync, "disk.fsync", {}},
      {disk::Pattern::SeqRead, "disk.seqread", {}},
  };
  for (const auto& c : cases) {
    auto given = c.params;
    given["file_size"] = "16MiB";
    given["duration"] = "0.2s";
    WorkloadContext ctx = context(c.workload, dir.path(), given);
    INFO(c.workload << " " << ctx.params.json().dump());
    auto t = disk::measure(c.pattern, ctx);
    INFO((t ? std::string() : t.error().message));
    REQUIRE(t.ok());
    const uint64_t bs = ctx.params.get_size("bs");
    CHECK(t->ios > 0);
    CHECK(t->bytes == t->ios * bs);
    CHECK(t->elapsed_ns >= 200'000'000u);
    if (c.pattern == disk::Pattern::SeqRead) {
      CHECK(!t->has_latency);
      CHECK(t->latency.count() == 0);
    } else {
      CHECK(t->has_latency);
      CHECK(t->latency.count() == t->ios);
      // No single I/O can take longer than the whole run.
      CHECK(t->latency.max() <= t->elapsed_ns);
    }
    CHECK(entries(dir.path()).empty());
  }
}

TEST_CASE("disk workloads fail clearly without a usable scratch directory", "[disk]") {
  TempDir dir(disk_parent());
  REQUIRE(!dir.path().empty());
  const std::string missing = dir.path() + "/does-not-exist";
  for (const char* w : {"disk.seqread", "disk.seqwrite", "disk.randread", "disk.randwrite", "disk.fsync"}) {
    INFO(w);
    Sample s = run(w, missing, {{"file_size", "16MiB"}, {"duration", "0.2s"}});
    CHECK(!s.ok);
    CHECK_THAT(s.error, Catch::Contains("scratch directory") && Catch::Contains(missing) &&
                            Catch::Contains("No such file or directory"));
    CHECK(s.metrics.empty());
  }
  const std::string file = dir.path() + "/plain-file";
  REQUIRE(write_file(file, "x").ok());
  Sample s = run("disk.seqwrite", file, {{"file_size", "16MiB"}, {"duration", "0.2s"}});
  CHECK(!s.ok);
  CHECK_THAT(s.error, Catch::Contains("not a directory"));
}

TEST_CASE("disk workloads reject parameters they cannot honour", "[disk]") {
  TempDir dir(disk_parent());
  REQUIRE(!dir.path().empty());
  Sample s = run("disk.randread", dir.path(), {{"file_size", "10000k"}, {"bs", "3MiB"}, {"duration", "0.2s"}});
  CHECK(!s.ok);
  CHECK_THAT(s.error, Catch::Contains("not a multiple of bs"));
  s = run("disk.randread", dir.path(), {{"qd", "0"}, {"file_size", "16MiB"}});
  CHECK(!s.ok);
  // The range is in the parameter table (checked before any file is made).
  CHECK_THAT(s.error, Catch::Contains("`qd`") && Catch::Contains("0 is out of range (1..4096)"));
  s = run("disk.seqread", dir.path(), {{"bs", "1000"}, {"file_size", "1000000"}});
  CHECK(!s.ok);
  CHECK_THAT(s.error, Catch::Contains("512") && Catch::Contains("direct=false"));
  CHECK(entries(dir.path()).empty());
}

TEST_CASE("disk workloads say when the filesystem has no O_DIRECT", "[disk]") {
  // ramfs has no direct-I/O path at all: open(O_DIRECT) fails with EINVAL.
  ScratchMount ramfs("ramfs", "");
  if (!ramfs.mounted()) {
    VBENCH_SKIP("cannot mount ramfs here (" << ramfs.why() << ")");
  }
  Sample s = run("disk.randread", ramfs.path(), {{"file_size", "4MiB"}, {"duration", "0.2s"}});
  CHECK(!s.ok);
  CHECK_THAT(s.error, Catch::Contains("ramfs does not support O_DIRECT") && Catch::Contains("direct=false"));
  CHECK(entries(ramfs.path()).empty());
  // ...and works through the page cache when asked to (ramfs also lacks
  // fallocate, so the file is written instead).
  s = run("disk.randread", ramfs.path(), {{"file_size", "4MiB"}, {"duration", "0.2s"}, {"direct", "false"}});
  INFO(s.error);
  CHECK(s.ok);
  CHECK(entries(ramfs.path()).empty());

  // tmpfs: Linux >= 6.6 accepts O_DIRECT there; older kernels refuse it.
  if (!on_memory_fs("/dev/shm")) return;
  TempDir shm("/dev/shm");
  REQUIRE(!shm.path().empty());
  const std::string probe = shm.path() + "/probe";
  const int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_DIRECT, 0600);
  const int err = errno;
  if (fd >= 0) ::close(fd);
  ::unlink(probe.c_str());
  s = run("disk.seqread", shm.path(), {{"file_size", "4MiB"}, {"duration", "0.2s"}});
  if (fd < 0 && err == EINVAL) {
    CHECK(!s.ok);
    CHECK_THAT(s.error, Catch::Contains("tmpfs does not support O_DIRECT") && Catch::Contains("direct=false"));
  } else {
    INFO(s.error);
    CHECK(s.ok);
  }
  CHECK(entries(shm.path()).empty());
}

TEST_CASE("disk workloads say how much space they needed and where", "[disk]") {
  ScratchMount small("tmpfs", "size=4m");
  if (!small.mounted()) {
    VBENCH_SKIP("cannot mount tmpfs here (" << small.why() << ")");
  }
  for (const char* w : {"disk.seqread", "disk.randwrite"}) {
    INFO(w);
    Sample s = run(w, small.path(), {{"file_size", "16MiB"}, {"duration", "0.2s"}, {"direct", "false"}});
    CHECK(!s.ok);
    CHECK_THAT(s.error, Catch::Contains("not enough space") && Catch::Contains(small.path()) &&
                            Catch::Contains("16777216 bytes (16MiB) needed") && Catch::Contains("available"));
    CHECK(entries(small.path()).empty());
  }
}

TEST_CASE("disk random workloads say when io_uring is unavailable", "[disk]") {
  TempDir dir(disk_parent());
  REQUIRE(!dir.path().empty());
  // In a child, so that the filter stays there: a seccomp filter that fails
  // io_uring_setup with EPERM, as container runtimes' default profiles do.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    std::string out;
    // No new privileges: lets an unprivileged process install the filter too.
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
      out = std::string("seccomp unavailable: ") + std::strerror(errno);
    } else {
      Sample s = run("disk.randread", dir.path(), {{"file_size", "4MiB"}, {"duration", "0.2s"}});
      out = s.ok ? "ok" : "error: " + s.error;
    }
    (void)write_all(fds[1], out.data(), out.size());
    _exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (out.rfind("seccomp unavailable", 0) == 0) {
    VBENCH_SKIP(out);
  }
  CHECK_THAT(out, Catch::StartsWith("error: ") && Catch::Contains("io_uring is unavailable") &&
                      Catch::Contains("Operation not permitted") && Catch::Contains("seccomp"));
  // It says so before writing any file.
  CHECK(entries(dir.path()).empty());
}

TEST_CASE("disk workloads honour a stop request", "[disk]") {
  TempDir dir(disk_parent());
  REQUIRE(!dir.path().empty());
  for (const char* w : {"disk.seqwrite", "disk.randread", "disk.fsync"}) {
    INFO(w);
    std::atomic<bool> stop{false};
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      stop.store(true);
    });
    const uint64_t t0 = now_ns();
    Sample s = run(w, dir.path(), {{"file_size", "16MiB"}, {"duration", "60s"}}, &stop);
    const double wall = static_cast<double>(now_ns() - t0) / 1e9;
    stopper.join();
    CHECK(!s.ok);
    CHECK_THAT(s.error, Catch::Contains("interrupted"));
    CHECK(wall < 20);
    CHECK(entries(dir.path()).empty());
  }
}
