// The cgroup layer against trees these tests build: a v2 host (what most
// users have) and a v1 host, so that both are exercised whatever this
// machine mounts. The kernel's part is emulated the simplest way: the test
// writes the interface files the kernel would show (stat files, optional
// files) and reads back what vbench wrote. The real hierarchy of this host is
// exercised by tests/integration/container_test.cpp.
#include "drivers/container/cgroup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/fs.hpp"
#include "drivers/container/network.hpp"
#include "drivers/container/state.hpp"

using namespace vbench;

namespace {

struct FakeRoot {
  std::string path;
  FakeRoot() {
    char t[] = "/tmp/vbench-cgtest-XXXXXX";
    path = mkdtemp(t);
  }
  ~FakeRoot() { (void)remove_tree(path); }
  void file(const std::string& rel, const std::string& content) {
    auto slash = rel.rfind('/');
    if (slash != std::string::npos) REQUIRE(mkdir_p(path + "/" + rel.substr(0, slash)));
    REQUIRE(write_file(path + "/" + rel, content));
  }
  std::string read(const std::string& rel) const {
    auto r = read_file(path + "/" + rel);
    return r ? *r : std::string("<missing>");
  }
  bool exists(const std::string& rel) const { return path_exists(path + "/" + rel); }
  // Mount points exist on a real host; here the test makes them.
  void mount_points(const CgroupHost& host) {
    for (const auto& [c, m] : host.v1_mounts) REQUIRE(mkdir_p(m));
  }
};

constexpr const char* kV2Mountinfo =
    "23 1 252:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";

// The layout of this machine: v1 controllers, plus a cgroup2 mount that
// offers none of the ones vbench needs.
constexpr const char* kHybridMountinfo =
    "23 1 252:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:28 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "33 30 0:29 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "34 30 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "35 30 0:31 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "36 30 0:32 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "37 30 0:33 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "38 30 0:34 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

std::string trimmed(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

TEST_CASE("cgroup detection picks v2 when the cgroup2 root offers cpu, memory and pids", "[cgroup]") {
  FakeRoot t;
  t.file("mountinfo", kV2Mountinfo);
  t.file("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  auto host = detect_cgroups(t.path + "/mountinfo", t.path);
  REQUIRE(host);
  CHECK(host->version == CgroupVersion::V2);
  CHECK(host->v2_mount == t.path + "/sys/fs/cgroup");
  CHECK(host->controllers == std::vector<std::string>{"cpu", "memory", "pids", "io", "cpuset"});
}

TEST_CASE("cgroup detection picks v1 on a hybrid host whose cgroup2 mount is nearly empty", "[cgroup]") {
  FakeRoot t;
  t.file("mountinfo", kHybridMountinfo);
  t.file("sys/fs/cgroup/unified/cgroup.controllers", "\n");
  auto host = detect_cgroups(t.path + "/mountinfo", t.path);
  REQUIRE(host);
  CHECK(host->version == CgroupVersion::V1);
  CHECK(host->v1_mounts.at("memory") == t.path + "/sys/fs/cgroup/memory");
  CHECK(host->v1_mounts.at("cpuacct") == t.path + "/sys/fs/cgroup/cpuacct");
  CHECK(host->controllers == std::vector<std::string>{"cpu", "cpuacct", "memory", "pids", "blkio", "cpuset"});
}

TEST_CASE("cgroup detection names the controller nobody offers", "[cgroup]") {
  FakeRoot t;
  t.file("mountinfo",
         "31 30 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct\n"
         "34 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
  auto host = detect_cgroups(t.path + "/mountinfo", t.path);
  REQUIRE_FALSE(host);
  CHECK(host.error().message.find("pids") != std::string::npos);
}

// Found by fuzz/procfs: a line that ends right after the filesystem type
// and source read one field past the end of the line's fields.
TEST_CASE("cgroup detection skips mountinfo lines cut short after the separator", "[cgroup][hostile]") {
  FakeRoot t;
  t.file("mountinfo",
         "22 1 8:1 / / rw - ext4 /dev/sda\n"
         "29 23 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2\n"
         "25 1 8:2 / /x rw -\n"
         "26 1 8:3 / /y\n"
         "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
  t.file("sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n");
  auto host = detect_cgroups(t.path + "/mountinfo", t.path);
  REQUIRE(host);
  CHECK(host->version == CgroupVersion::V2);
  CHECK(host->v2_mount == t.path + "/sys/fs/cgroup");
}

TEST_CASE("cgroup v1 co-mounted controllers share one directory", "[cgroup]") {
  FakeRoot t;
  t.file("mountinfo",
         "31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
         "34 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
         "36 30 0:32 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n");
  auto host = detect_cgroups(t.path + "/mountinfo", t.path);
  REQUIRE(host);
  t.mount_points(*host);
  auto cg = create_cgroup(*host, "run-a");
  REQUIRE(cg);
  CHECK((*cg)->dirs().size() == 3);
  CHECK(t.exists("sys/fs/cgroup/cpu,cpuacct/vbench/run-a"));
}

TEST_CASE("cgroup v2: creation enables controllers down the path and writes the limits", "[cgroup]") {
  FakeRoot t;
  t.file("mountinfo", kV2Mountinfo);
  t.file("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
  t.file("sys/fs/cgroup/cgroup.subtree_control", "cpu memory\n");
  auto host = detect_cgroups(t.path + "/mountinfo", t.path);
  REQUIRE(host);
  auto cg = create_cgroup(*host, "vb-1-container");
  REQUIRE(cg);
  const std::string rel = "sys/fs/cgroup/vbench/vb-1-container";
  CHECK((*cg)->dirs() == std::vector<std::string>{t.path + "/" + rel});
  // Only what is missing is enabled, in one write.
  CHECK(trimmed(t.read("sys/fs/cgroup/cgroup.subtree_control")) == "+pids +io +cpuset");
  CHECK(trimmed(t.read("sys/fs/cgroup/vbench/cgroup.subtree_control")) == "+cpu +memory +pids +io +cpuset");

  t.file(rel + "/memory.swap.max", "max\n");  // the kernel shows it when swap is accounted
  CgroupLimits l;
  l.cpus = 0.5;
  l.cpuset = "1";
  l.memory = 256ull << 20;
  l.pids = 64;
  l.io = IoLimits{8, 0, 200, 1 << 20, 0, 0, 100};
  REQUIRE((*cg)->apply(l));
  CHECK(t.read(rel + "/cpu.max") == "50000 100000");
  CHECK(t.read(rel + "/cpuset.cpus") == "1");
  CHECK(t.read(rel + "/memory.max") == "268435456");
  CHECK(t.read(rel + "/memory.swap.max") == "0");
  CHECK(t.read(rel + "/pids.max") == "64");
  CHECK(t.read(rel + "/io.weight") == "default 200");
  CHECK(t.read(rel + "/io.max") == "8:0 rbps=1048576 wiops=100");
  CHECK((*cg)->notes() == std::vector<std::string>{"swap off: memory.swap.max = 0"});
  CHECK_FALSE(t.exists(rel + "/cpu.cfs_quota_us"));

  // A second instance with the same name is refused, not reused.
  CHECK_FALSE(create_cgroup(*host, "vb-1-container"));
}

TEST_CASE("cgroup v2: limits on a controller the host lacks name the knob", "[cgroup]") {
  FakeRoot t;
  t.file("mountinfo", kV2Mountinfo);
  t.file("sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n");
  auto host = detect_cgroups(t.path + "/mountinfo", t.path);
  REQUIRE(host);
  auto cg = create_cgroup(*host, "x");
  REQUIRE(cg);
  CgroupLimits l;
  l.io.write_bps = 1000;
  auto s = (*cg)->apply(l);
  REQUIRE_FALSE(s);
  CHECK(s.error().message.find("`io`") != std::string::npos);
  CgroupLimits tiny;
  tiny.cpus = 0.001;
  CHECK_FALSE((*cg)->apply(tiny));  // a quota under 1 ms
}

TEST_CASE("cgroup v2: usage parses cpu.stat, memory.peak, memory.events and io.stat", "[cgroup]") {
  FakeRoot t;
  t.file("mountinfo", kV2Mountinfo);
  t.file("sys/fs/cgroup/cgroup.controllers", "cpu io memory pids\n");
  auto host = detect_cgroups(t.path + "/mountinfo", t.path);
  REQUIRE(host);
  auto cg = create_cgroup(*host, "u");
  REQUIRE(cg);
  const std::string rel = "sys/fs/cgroup/vbench/u";
  t.file(rel + "/cpu.stat",
         "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 4\n"
         "throttled_usec 300000\nnr_bursts 0\nburst_usec 0\n");
  t.file(rel + "/memory.peak", "1048576\n");
  t.file(rel + "/memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n");
  t.file(rel + "/io.stat",
         "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
         "253:1 rbytes=100 wbytes=0 rios=3 wios=0 dbytes=0 dios=0\n");
  auto before = (*cg)->usage();
  REQUIRE(before.cpu_usage_s);
  CHECK(*before.cpu_usage_s == Approx(2.5));
  CHECK(before.nr_periods == 10u);
  CHECK(before.nr_throttled == 4u);
  CHECK(*before.throttled_s == Approx(0.3));
  CHECK(before.memory_peak == 1048576u);
  CHECK(before.oom_kills == 1u);
  CHECK(before.io_read_bytes == 4196u);
  CHECK(before.io_write_bytes == 8192u);
  CHECK(before.io_read_ops == 4u);
  CHECK(before.io_write_ops == 2u);

  // reset_peak keeps memory.peak open and reads the sample's peak through
  // it; the test stands in for the kernel by rewriting the file.
  REQUIRE((*cg)->reset_peak());
  t.file(rel + "/memory.peak", "65536\n");
  t.file(rel + "/cpu.stat",
         "usage_usec 3500000\nuser_usec 2000000\nsystem_usec 1500000\nnr_periods 20\nnr_throttled 9\n"
         "throttled_usec 800000\n");
  t.file(rel + "/memory.events", "oom_kill 2\n");
  auto after = (*cg)->usage();
  CHECK(after.memory_peak == 65536u);
  // The user/system split of the usage (microseconds on v2).
  REQUIRE(after.cpu_user_s);
  CHECK(*after.cpu_user_s == Approx(2.0));
  CHECK(*after.cpu_system_s == Approx(1.5));
  REQUIRE(before.cpu_user_s);
  CHECK(*before.cpu_system_s == Approx(0.5));

  auto m = cgroup_sample_metrics(before, after);
  auto get = [&](const std::string& n) {
    for (const auto& x : m)
      if (x.name == n) return x.value;
    FAIL("no metric " << n);
    return 0.0;
  };
  CHECK(get("cgroup.cpu_usage") == Approx(1.0));
  CHECK(get("cgroup.nr_throttled") == 5);
  CHECK(get("cgroup.throttled_time") == Approx(0.5));
  CHECK(get("cgroup.memory_peak") == 65536);
  CHECK(get("cgroup.oom_kills") == 1);
}

TEST_CASE("cgroup v2: destroy removes the instance and the emptied shared parent", "[cgroup]") {
  FakeRoot t;
  t.file("mountinfo", kV2Mountinfo);
  t.file("sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n");
  auto host = detect_cgroups(t.path + "/mountinfo", t.path);
  REQUIRE(host);
  auto a = create_cgroup(*host, "a");
  auto b = create_cgroup(*host, "b");
  REQUIRE(a);
  REQUIRE(b);
  // On cgroupfs the interface files vanish with the directory; here the
  // test removes what vbench wrote into plain directories.
  (void)::unlink((t.path + "/sys/fs/cgroup/vbench/cgroup.subtree_control").c_str());
  REQUIRE((*a)->destroy());
  CHECK_FALSE(t.exists("sys/fs/cgroup/vbench/a"));
  CHECK(t.exists("sys/fs/cgroup/vbench/b"));  // another instance keeps the parent
  REQUIRE((*a)->destroy());                   // idempotent
  auto listed = list_vbench_cgroups(*host);
  CHECK(listed.size() == 1);
  CHECK(listed.count("b") == 1);
  REQUIRE((*b)->destroy());
  CHECK_FALSE(t.exists("sys/fs/cgroup/vbench"));
}

TEST_CASE("cgroup v1: cpuset values are inherited, memsw caps swap, names map per version", "[cgroup]") {
  FakeRoot t;
  t.file("mountinfo", kHybridMountinfo);
  t.file("sys/fs/cgroup/cpuset/cpuset.cpus", "0-1\n");
  t.file("sys/fs/cgroup/cpuset/cpuset.mems", "0\n");
  auto host = detect_cgroups(t.path + "/mountinfo", t.path);
  REQUIRE(host);
  t.mount_points(*host);
  auto cg = create_cgroup(*host, "r1-container");
  REQUIRE(cg);
  CHECK((*cg)->dirs().size() == 6);
  CHECK(trimmed(t.read("sys/fs/cgroup/cpuset/vbench/cpuset.cpus")) == "0-1");
  CHECK(trimmed(t.read("sys/fs/cgroup/cpuset/vbench/r1-container/cpuset.cpus")) == "0-1");
  CHECK(trimmed(t.read("sys/fs/cgroup/cpuset/vbench/r1-container/cpuset.mems")) == "0");

  const std::string mem = "sys/fs/cgroup/memory/vbench/r1-container";
  t.file(mem + "/memory.memsw.limit_in_bytes", "9223372036854771712\n");
  CgroupLimits l;
  l.cpus = 1.5;
  l.cpu_period_us = 50000;
  l.memory = 64ull << 20;
  l.pids = 10;
  l.io.major = 8;
  l.io.read_iops = 500;
  REQUIRE((*cg)->apply(l));
  CHECK(t.read("sys/fs/cgroup/cpu/vbench/r1-container/cpu.cfs_period_us") == "50000");
  CHECK(t.read("sys/fs/cgroup/cpu/vbench/r1-container/cpu.cfs_quota_us") == "75000");
  CHECK(t.read(mem + "/memory.limit_in_bytes") == "67108864");
  CHECK(t.read(mem + "/memory.memsw.limit_in_bytes") == "67108864");
  CHECK(t.read("sys/fs/cgroup/pids/vbench/r1-container/pids.max") == "10");
  CHECK(t.read("sys/fs/cgroup/blkio/vbench/r1-container/blkio.throttle.read_iops_device") == "8:0 500");

  t.file("sys/fs/cgroup/cpuacct/vbench/r1-container/cpuacct.usage", "1500000000\n");
  t.file("sys/fs/cgroup/cpuacct/vbench/r1-container/cpuacct.stat", "user 120\nsystem 30\n");
  t.file("sys/fs/cgroup/cpu/vbench/r1-container/cpu.stat", "nr_periods 3\nnr_throttled 2\nthrottled_time 7000000\n");
  t.file(mem + "/memory.max_usage_in_bytes", "4096\n");
  t.file(mem + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  t.file("sys/fs/cgroup/blkio/vbench/r1-container/blkio.throttle.io_service_bytes_recursive",
         "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:0 Total 4608\nTotal 4608\n");
  auto u = (*cg)->usage();
  CHECK(*u.cpu_usage_s == Approx(1.5));
  // cpuacct.stat is in USER_HZ clock ticks.
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  REQUIRE(u.cpu_user_s);
  CHECK(*u.cpu_user_s == Approx(120 / hz));
  CHECK(*u.cpu_system_s == Approx(30 / hz));
  CHECK(u.nr_throttled == 2u);
  CHECK(*u.throttled_s == Approx(0.007));
  CHECK(u.memory_peak == 4096u);
  CHECK(u.oom_kills == 3u);
  CHECK(u.io_read_bytes == 4096u);
  CHECK(u.io_write_bytes == 512u);
  REQUIRE((*cg)->reset_peak());
  CHECK(trimmed(t.read(mem + "/memory.max_usage_in_bytes")) == "0");
}

TEST_CASE("cgroup v1 without memsw turns swappiness down and says so", "[cgroup]") {
  FakeRoot t;
  t.file("mountinfo", kHybridMountinfo);
  t.file("sys/fs/cgroup/cpuset/cpuset.cpus", "0-1\n");
  t.file("sys/fs/cgroup/cpuset/cpuset.mems", "0\n");
  auto host = detect_cgroups(t.path + "/mountinfo", t.path);
  REQUIRE(host);
  t.mount_points(*host);
  auto cg = create_cgroup(*host, "nomemsw");
  REQUIRE(cg);
  CgroupLimits l;
  l.memory = 32ull << 20;
  REQUIRE((*cg)->apply(l));
  CHECK(t.read("sys/fs/cgroup/memory/vbench/nomemsw/memory.swappiness") == "0");
  REQUIRE((*cg)->notes().size() == 1);
  CHECK((*cg)->notes()[0].find("swappiness") != std::string::npos);
}

TEST_CASE("cgroup file names: one table for both versions", "[cgroup]") {
  CHECK(std::string(cgroup_files(CgroupVersion::V1).memory_limit) == "memory.limit_in_bytes");
  CHECK(std::string(cgroup_files(CgroupVersion::V2).memory_limit) == "memory.max");
  CHECK(std::string(cgroup_files(CgroupVersion::V1).memory_peak) == "memory.max_usage_in_bytes");
  CHECK(std::string(cgroup_files(CgroupVersion::V2).cpu_limit) == "cpu.max");
}

TEST_CASE("container names fit the kernel's limits and map back to their instance", "[container]") {
  const std::string inst = "vb-20261121T212723Z-4f2a-container-with-a-long-env-name";
  for (char role : {'h', 'b'}) {
    const auto n = link_name(inst, role);
    CHECK(n.size() <= 15);  // IFNAMSIZ - 1
    CHECK(n.rfind("vb", 0) == 0);
    CHECK(n == link_name(inst, role));
  }
  CHECK(link_name(inst, 'h') != link_name(inst + "2", 'h'));
  CHECK(instance_of_alias(link_alias(inst)) == inst);
  CHECK(instance_of_alias("docker bridge").empty());
  CHECK(sanitize_name("a/b c..d") == "a_b_c..d");
  CHECK(sanitize_name(".hidden") == "_hidden");
}

TEST_CASE("container addresses: free /30 blocks in 198.18.0.0/15", "[container]") {
  CHECK(block_address(0, 1).str() == "198.18.0.1");
  CHECK(block_address(64, 2).str() == "198.18.1.2");
  CHECK(block_address(32767, 2).str() == "198.19.255.254");
  std::vector<Ipv4> used = {*Ipv4::parse("198.18.0.1"), *Ipv4::parse("198.18.0.6"), *Ipv4::parse("10.0.0.1")};
  CHECK(*pick_free_block(used, 0) == 2);
  CHECK(*pick_free_block(used, 5) == 5);
  CHECK(*pick_free_block(used, 0, {2, 3}) == 4);
  CHECK(*pick_free_block(used, 32767) == 32767);
  CHECK(*pick_free_block({*Ipv4::parse("198.19.255.253")}, 32767) == 0);  // wraps around
}
