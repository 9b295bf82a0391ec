#include "drivers/kvm/kvm.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "agent/init.hpp"
#include "core/choice.hpp"
#include "core/clock.hpp"
#include "core/deadline.hpp"
#include "core/fs.hpp"
#include "core/procfs.hpp"
#include "core/resolve.hpp"
#include "core/runstate.hpp"
#include "core/units.hpp"
#include "counters/counters.hpp"
#include "drivers/agent_channel.hpp"
#include "drivers/cpu_accounting.hpp"
#include "drivers/cpuset.hpp"
#include "drivers/kvm/accel.hpp"
#include "drivers/kvm/console.hpp"
#include "drivers/kvm/guest_kernel.hpp"
#include "drivers/kvm/host_command.hpp"
#include "drivers/kvm/initramfs.hpp"
#include "drivers/kvm/qmp.hpp"
#include "drivers/kvm/tap.hpp"
#include "drivers/placement.hpp"
#include "workloads/net_peer.hpp"

namespace vbench {
namespace {

// How much of the console log is kept next to the results when a guest fails.
constexpr size_t kConsoleTailBytes = 64 * 1024;
// The console file never grows much past this while the guest runs (a guest
// is untrusted and may print without end); of it, the last kConsoleKeepBytes
// survive each trim, and at most that much is read back to explain a failure.
constexpr size_t kConsoleCapBytes = 16 << 20;
constexpr size_t kConsoleKeepBytes = 1 << 20;

// QEMU's cache and AIO modes of the virtio-blk disk, and the vhost_net knob.
enum class DiskCache { None, Writeback, Writethrough, Directsync, Unsafe };
constexpr Choices<DiskCache, 5> kDiskCaches{{{"none", DiskCache::None},
                                             {"writeback", DiskCache::Writeback},
                                             {"writethrough", DiskCache::Writethrough},
                                             {"directsync", DiskCache::Directsync},
                                             {"unsafe", DiskCache::Unsafe}}};
enum class DiskAio { IoUring, Native, Threads };
constexpr Choices<DiskAio, 3> kDiskAios{
    {{"io_uring", DiskAio::IoUring}, {"native", DiskAio::Native}, {"threads", DiskAio::Threads}}};
enum class VhostNet { Auto, On, Off };
constexpr Choices<VhostNet, 3> kVhostNets{{{"auto", VhostNet::Auto}, {"on", VhostNet::On}, {"off", VhostNet::Off}}};

struct KvmConfig {
  Accel accel = Accel::Auto;
  Machine machine = Machine::Q35;
  VhostNet vhost_net = VhostNet::Auto;
  DiskCache disk_cache = DiskCache::None;
  DiskAio disk_aio = DiskAio::IoUring;
  std::string kernel, kernel_modules, kernel_cmdline, qemu, vcpu_pinning;
  int vcpus = 2;
  uint64_t memory = 0, disk_size = 0;
  bool hugepages = false;
};

Result<KvmConfig> parse_knobs(const std::vector<ParamSpec>& specs, const std::map<std::string, nlohmann::json>& given) {
  auto knobs = resolve_knobs("kvm", specs, given);
  if (!knobs) return knobs.error();
  auto& n = *knobs;
  KvmConfig c;
  for (const Status& s :
       {choose_into(c.accel, kAccels, "accel", n["accel"]), choose_into(c.machine, kMachines, "machine", n["machine"]),
        choose_into(c.vhost_net, kVhostNets, "vhost_net", n["vhost_net"]),
        choose_into(c.disk_cache, kDiskCaches, "disk_cache", n["disk_cache"]),
        choose_into(c.disk_aio, kDiskAios, "disk_aio", n["disk_aio"])})
    if (!s) return s.error();
  c.kernel = n["kernel"];
  c.kernel_modules = n["kernel_modules"];
  c.kernel_cmdline = n["kernel_cmdline"];
  c.qemu = n["qemu"];
  c.vcpu_pinning = n["vcpu_pinning"];
  c.vcpus = n["vcpus"].is_string() ? static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) : n["vcpus"].get<int>();
  c.memory = n["memory"];
  c.disk_size = n["disk_size"];
  c.hugepages = n["hugepages"];
  if (c.vcpus < 1 || c.vcpus > 255) return make_error("vcpus = {}: expected 1..255", c.vcpus);
  if (c.memory < (256ull << 20)) return make_error("memory = {}: at least 256MiB", format_size(c.memory));
  if (c.disk_size < (64ull << 20)) return make_error("disk_size = {}: at least 64MiB", format_size(c.disk_size));
  if (c.disk_aio == DiskAio::Native && c.disk_cache != DiskCache::None && c.disk_cache != DiskCache::Directsync)
    return make_error("disk_aio = \"native\" needs O_DIRECT: use disk_cache = \"none\" or \"directsync\" (is \"{}\")",
                      name_of(kDiskCaches, c.disk_cache));
  if (c.hugepages && c.memory % (2ull << 20) != 0)
    return make_error("hugepages = true: memory must be a multiple of 2MiB");
  return c;
}

// "utime + stime" of a process or one of its threads, in seconds.
std::optional<double> cpu_seconds(const std::string& stat_path) {
  auto text = read_line(stat_path);
  if (!text) return std::nullopt;
  auto st = parse_proc_stat(*text);
  if (!st) return std::nullopt;
  return static_cast<double>(st->utime + st->stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string last_lines(const std::string& text, size_t n) {
  size_t pos = text.size();
  while (pos > 0 && (text[pos - 1] == '\n' || text[pos - 1] == '\r')) --pos;
  size_t end = pos;
  for (size_t count = 0; pos > 0; --pos)
    if (text[pos - 1] == '\n' && ++count == n) break;
  std::string out;
  for (char c : text.substr(pos, end - pos))
    if (c != '\r') out += c;
  return out;
}

// The console lines that say why a guest died: our init's own complaint,
// the kernel's panic reason, else the last lines.
std::string console_summary(const std::string& console) {
  std::string picked;
  std::istringstream in(console);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // Our init's own lines, and the kernel's words for a dead or stuck guest.
    for (const char* mark : {"vbench-init:", "Kernel panic", "BUG:", "Oops", "lockup", "stall", "Out of memory"})
      if (line.find(mark) != std::string::npos) {
        picked += (picked.empty() ? "" : "\n") + line;
        break;
      }
  }
  return picked.empty() ? last_lines(console, 4) : last_lines(picked, 4);
}

Result<UniqueFd> listen_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return make_error("socket path `{}` is too long", path);
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket");
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return sys_error(fmt::format("bind `{}`", path));
  if (::listen(fd.get(), 1) != 0) return sys_error(fmt::format("listen on `{}`", path));
  return fd;
}

class KvmSession : public Session {
 public:
  KvmSession(EnvSpec spec, KvmConfig cfg, Placement placement)
      : spec_(std::move(spec)), cfg_(std::move(cfg)), placement_(placement) {}
  ~KvmSession() override { (void)stop(); }

  std::string label() const override { return spec_.name + (accel_.emulated() ? "[tcg]" : ""); }
  std::vector<Metric> lifecycle() const override { return lifecycle_; }
  nlohmann::json describe() const override { return describe_; }
  std::vector<std::string> warnings() const override {
    if (!accel_.emulated()) return {};
    return {
        fmt::format("{}: no hardware-assisted KVM on this host ({}); the guest ran under QEMU's TCG emulator, "
                    "so these numbers are an emulator's, not KVM's (single-threaded TCG: the vCPUs take turns on one "
                    "host thread)",
                    label(), host_kvm_.describe())};
  }

  Status boot();
  Result<Sample> run(const WorkloadRequest& req) override;
  Status stop() override;

 private:
  Status prepare_disk();
  Status spawn_qemu(const std::vector<std::string>& argv);
  Result<UniqueFd> accept_from_qemu(int listen_fd, const std::string& what, uint64_t deadline);
  Status wait_for_agent(uint64_t t0, uint64_t deadline);
  Status pin_vcpus();
  std::vector<std::string> qemu_argv(const std::string& initrd, bool vhost) const;
  bool qemu_running();
  bool wait_qemu_exit(double seconds);
  // Ends a failed start or a dead guest: saves the console tail next to the
  // results and returns `why` with where it went and the last console lines.
  Error guest_failure(const std::string& why);
  std::map<std::string, double> kvm_exit_counts();
  double vcpu_cpu_seconds() const;
  HostCounters* vcpu_counters(const std::vector<std::string>& names);

  EnvSpec spec_;
  KvmConfig cfg_;
  HostKvm host_kvm_;
  AccelChoice accel_;
  GuestKernel kernel_;
  EnvState state_;
  std::string image_;
  GuestLink link_;
  pid_t qemu_pid_ = -1;
  PlacementApplier placement_;
  int qemu_status_ = 0;
  QmpClient qmp_;
  AgentChannel ch_;
  std::vector<pid_t> vcpu_tids_;
  bool kvm_stats_ = false;
  std::unique_ptr<HostCounters> vcpu_counters_;  // on the vCPU threads, opened on first use
  std::unique_ptr<ConsoleCap> console_cap_;      // while QEMU runs
  std::vector<std::string> vcpu_counter_names_;
  std::string vcpu_counter_note_;
  bool ready_ = false, dead_ = false, stopped_ = false;
  std::string dead_reason_;
  PeerProcess peer_;
  std::string peer_addr_;
  std::vector<Metric> lifecycle_;
  nlohmann::json describe_ = nlohmann::json::object();
};

Status KvmSession::prepare_disk() {
  const std::string dir = spec_.scratch_dir.empty() ? state_.dir() : spec_.scratch_dir;
  image_ = fmt::format("{}/vbench-{}-{}.img", dir, file_safe(spec_.run_id), file_safe(spec_.name));
  // Recorded first, so that cleanup finds it whatever happens next.
  if (auto s = state_.record("image", image_); !s) return s;
  {
    UniqueFd fd(::open(image_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return sys_error(fmt::format("create disk image `{}`", image_));
    if (::ftruncate(fd.get(), static_cast<off_t>(cfg_.disk_size)) != 0)
      return sys_error(fmt::format("size disk image `{}`", image_));
  }
  // Inode tables and journal written now, not lazily by the guest's
  // ext4lazyinit thread while disk workloads are measured.
  auto mkfs = run_capture(
      {"mkfs.ext4", "-q", "-F", "-L", "vbench", "-E", "lazy_itable_init=0,lazy_journal_init=0", image_}, 300);
  if (!mkfs) return mkfs.error().context("format the guest disk (e2fsprogs)");
  return {};
}

std::vector<std::string> KvmSession::qemu_argv(const std::string& initrd, bool vhost) const {
  const bool microvm = cfg_.machine == Machine::Microvm;
  const std::string bus = microvm ? "device" : "pci";
  const uint64_t mib = cfg_.memory >> 20;
  std::vector<std::string> a = {
      find_program(cfg_.qemu), "-name", fmt::format("vbench-{}-{},debug-threads=on", spec_.run_id, spec_.name),
      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      // Paused until the vCPU threads are pinned; `cont` over QMP starts it.
      // TCG runs single-threaded (the vCPUs take turns on one host thread):
      // with multi-threaded TCG a 2-vCPU Linux guest now and then livelocks
      // while it patches its own kernel text (a static key flipped by
      // once_deferred: one vCPU spins in text_poke_bp waiting for the other,
      // which loops on the int3 in exc_int3), and stops answering for good.
      "-S", "-machine", std::string(name_of(kMachines, cfg_.machine)), "-accel",
      accel_.emulated() ? "tcg,thread=single" : "kvm", "-cpu", accel_.emulated() ? "max" : "host", "-smp",
      std::to_string(cfg_.vcpus), "-m", fmt::format("{}M", mib)};
  if (cfg_.hugepages) {
    a.insert(a.end(), {"-object",
                       fmt::format("memory-backend-memfd,id=ram0,size={}M,hugetlb=on,hugetlbsize=2M,prealloc=on", mib),
                       "-machine", "memory-backend=ram0"});
  }
  std::string cmdline =
      fmt::format("console=ttyS0 panic=-1 oops=panic {}{}/{}", kGuestIpParam, link_.guest_ip, link_.prefix);
  if (!cfg_.kernel_cmdline.empty()) cmdline += " " + cfg_.kernel_cmdline;
  a.insert(a.end(), {"-kernel", kernel_.image, "-initrd", initrd, "-append", cmdline});
  a.insert(a.end(), {"-chardev", fmt::format("file,id=console,path={},append=on", state_.path("console.log")),
                     "-serial", "chardev:console"});
  // QEMU connects to our listening sockets at start-up (client chardevs).
  a.insert(a.end(), {"-chardev", fmt::format("socket,id=qmp,path={}", state_.path("qmp.sock")), "-mon",
                     "chardev=qmp,mode=control"});
  a.insert(a.end(), {"-device", fmt::format("virtio-serial-{},id=vser0", bus), "-chardev",
                     fmt::format("socket,id=ctl,path={}", state_.path("ctl.sock")), "-device",
                     fmt::format("virtserialport,bus=vser0.0,chardev=ctl,name={}", kGuestControlPort)});
  a.insert(a.end(), {"-drive",
                     fmt::format("file={},if=none,id=disk0,format=raw,cache={},aio={}", image_,
                                 name_of(kDiskCaches, cfg_.disk_cache), name_of(kDiskAios, cfg_.disk_aio)),
                     "-device", fmt::format("virtio-blk-{},drive=disk0", bus)});
  // The tap descriptor is inherited as fd 3 (see spawn_qemu).
  a.insert(a.end(), {"-netdev", fmt::format("tap,id=net0,fd=3,vhost={}", vhost ? "on" : "off"), "-device",
                     fmt::format("virtio-net-{},netdev=net0,mac={}", bus, link_.mac)});
  return a;
}

Status KvmSession::spawn_qemu(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
  args.push_back(nullptr);
  const std::string log = state_.path("qemu.log");
  const pid_t parent = ::getpid();
  const int tap_fd = link_.fd.get();
  pid_t pid = fork();
  if (pid < 0) return sys_error("fork for qemu");
  if (pid == 0) {
    // QEMU dies with the thread that started it, whatever way it dies (this
    // is per thread: sessions must be started from a long-lived thread).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(126);
    // Its own process group: a Ctrl-C meant for vbench reaches vbench, which
    // then shuts the guest down in order.
    setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (devnull < 0 || out < 0) _exit(125);
    dup2(devnull, 0);
    dup2(out, 1);
    dup2(out, 2);
    if (tap_fd == 3)
      fcntl(3, F_SETFD, 0);
    else
      dup2(tap_fd, 3);
    // Nothing else leaks in: another session's tap kept open by this QEMU
    // would outlive that session.
    close_range(4, ~0u, 0);
    execv(args[0], args.data());
    _exit(127);
  }
  qemu_pid_ = pid;
  auto id = process_identity(pid);
  if (id) (void)state_.record("qemu", to_string(*id));
  return {};
}

bool KvmSession::qemu_running() {
  if (qemu_pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(qemu_pid_, &status, WNOHANG);
  if (r == qemu_pid_) {
    qemu_status_ = status;
    qemu_pid_ = -1;
    return false;
  }
  return r == 0;
}

bool KvmSession::wait_qemu_exit(double seconds) {
  const uint64_t deadline = deadline_after_s(seconds);
  while (qemu_running()) {
    if (now_ns() > deadline) return false;
    usleep(10000);
  }
  return true;
}

Result<UniqueFd> KvmSession::accept_from_qemu(int listen_fd, const std::string& what, uint64_t deadline) {
  for (;;) {
    pollfd p{listen_fd, POLLIN, 0};
    int rc = poll(&p, 1, 50);
    if (rc < 0 && errno != EINTR) return sys_error("poll " + what);
    if (rc > 0) {
      UniqueFd fd(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
      if (!fd) return sys_error("accept " + what);
      return fd;
    }
    if (!qemu_running()) return make_error("qemu exited before connecting its {}", what);
    if (now_ns() > deadline) return make_error("qemu did not connect its {} in time", what);
  }
}

Status KvmSession::pin_vcpus() {
  auto cpus = qmp_.execute("query-cpus-fast");
  if (!cpus) return cpus.error();
  // vCPU -> host thread. Under single-threaded TCG every vCPU reports the
  // same thread: it gets the CPUs of all of them, and is counted once.
  std::vector<pid_t> per_vcpu;
  if (cpus->is_array())
    for (const auto& c : *cpus)
      if (c.contains("thread-id") && c["thread-id"].is_number_integer()) per_vcpu.push_back(c["thread-id"]);
  vcpu_tids_.clear();
  for (pid_t t : per_vcpu)
    if (std::find(vcpu_tids_.begin(), vcpu_tids_.end(), t) == vcpu_tids_.end()) vcpu_tids_.push_back(t);
  {
    // describe.placement: every QEMU thread, vCPU or I/O, with the CPUs the
    // placement gives it (the same as the agent's in bare and container).
    nlohmann::json p = describe_placement(placement_.policy(), host_cpu_count());
    const PlacementPlan net = plan_placement(placement_.policy(), true, host_cpu_count()),
                        other = plan_placement(placement_.policy(), false, host_cpu_count());
    auto list = [](const std::vector<int>& v) { return v.empty() ? nlohmann::json("any") : nlohmann::json(v); };
    nlohmann::json threads = nlohmann::json::array();
    for (const pid_t tid : process_threads(qemu_pid_)) {
      const bool vcpu = std::find(vcpu_tids_.begin(), vcpu_tids_.end(), tid) != vcpu_tids_.end();
      auto comm = read_line(fmt::format("/proc/{}/task/{}/comm", qemu_pid_, tid));
      threads.push_back({{"thread", tid},
                         {"name", comm ? *comm : ""},
                         {"role", vcpu ? "vcpu" : "io"},
                         {"cpus_network", list(net.agent)},
                         {"cpus_other", list(other.agent)}});
    }
    p["qemu_threads"] = threads;
    if (!cfg_.vcpu_pinning.empty()) p["agent_note"] = "the vcpu_pinning knob pins the vCPUs";
    describe_["placement"] = p;
    describe_["cpu_accounting"] = describe_cpu_accounting(
        "QEMU: /proc/PID/stat utime/stime (threads that exited included) and guest_time for guest mode; "
        "/proc/PID/task/TID/stat of the vCPU threads for the vCPU / I/O split (clock ticks)",
        placement_.policy(), host_cpu_count(), !cfg_.vcpu_pinning.empty());
  }
  if (cfg_.vcpu_pinning.empty()) return {};
  auto host = parse_cpu_list(cfg_.vcpu_pinning);
  if (!host) return host.error().context("vcpu_pinning");
  if (host->empty()) return make_error("vcpu_pinning `{}` names no CPU", cfg_.vcpu_pinning);
  nlohmann::json pins = nlohmann::json::array();
  std::map<pid_t, cpu_set_t> sets;
  for (size_t i = 0; i < per_vcpu.size(); ++i) {
    const int cpu = (*host)[i % host->size()];
    auto [it, fresh] = sets.try_emplace(per_vcpu[i]);
    if (fresh) CPU_ZERO(&it->second);
    CPU_SET(cpu, &it->second);
    pins.push_back({{"vcpu", i}, {"thread", per_vcpu[i]}, {"cpu", cpu}});
  }
  for (const auto& [tid, set] : sets)
    if (sched_setaffinity(tid, sizeof set, &set) != 0)
      return sys_error(fmt::format("pin vCPU thread {} to CPUs {}", tid, cfg_.vcpu_pinning));
  describe_["vcpu_pinning"] = pins;
  return {};
}

Status KvmSession::wait_for_agent(uint64_t t0, uint64_t deadline) {
  // The hello is repeated (replies to earlier ones are skipped by id) so
  // that a dead QEMU is noticed within a second.
  for (;;) {
    auto h = ch_.hello(1.0);
    if (h) {
      lifecycle_.push_back(Metric{"boot_s", static_cast<double>(now_ns() - t0) / 1e9, "s", Better::Lower});
      describe_["guest"] = *h;
      return {};
    }
    if (!qemu_running()) {
      std::string why = "qemu exited before the agent was ready";
      if (WIFEXITED(qemu_status_) && WEXITSTATUS(qemu_status_) == 0)
        why += " (the guest powered off or reset)";
      else if (WIFEXITED(qemu_status_))
        why += fmt::format(" (status {})", WEXITSTATUS(qemu_status_));
      else if (WIFSIGNALED(qemu_status_))
        why += fmt::format(" (signal {})", WTERMSIG(qemu_status_));
      if (auto log = read_file(state_.path("qemu.log")); log && !log->empty()) why += ": " + last_lines(*log, 3);
      return make_error("{}", why);
    }
    if (h.error().message.find("closed the channel") != std::string::npos)
      return make_error("qemu closed the control port before the agent was ready");
    if (now_ns() > deadline) return make_error("the guest did not become ready within {:.0f} s", spec_.start_timeout_s);
  }
}

Error KvmSession::guest_failure(const std::string& why) {
  std::string msg = why;
  auto console = read_console_tail(state_.path("console.log"), kConsoleKeepBytes);
  if (console && !spec_.out_dir.empty()) {
    const std::string tail =
        console->size() > kConsoleTailBytes ? console->substr(console->size() - kConsoleTailBytes) : *console;
    const std::string path = fmt::format("{}/{}-console.log", spec_.out_dir, file_safe(spec_.name));
    if (mkdir_p(spec_.out_dir) && write_file_atomic(path, tail)) msg += fmt::format("; console tail saved to {}", path);
  }
  if (console && !console->empty()) msg += "; console:\n" + console_summary(*console);
  return Error{msg, 0};
}

Status KvmSession::boot() {
  describe_["kind"] = "kvm";
  host_kvm_ = detect_host_kvm();
  auto accel = choose_accel(cfg_.accel, host_kvm_);
  if (!accel) return accel.error();
  accel_ = *accel;
  if (find_program(cfg_.qemu).empty())
    return make_error("`{}` not found; fix: apt-get install qemu-system-x86 (ci/bootstrap installs it)", cfg_.qemu);
  auto kernel = find_guest_kernel(cfg_.kernel, cfg_.kernel_modules, guest_drivers(cfg_.machine));
  if (!kernel) return kernel.error();
  kernel_ = std::move(*kernel);
  auto initrd = ensure_initramfs(spec_.agent_path, kernel_.modules);
  if (!initrd) return initrd.error();

  bool vhost = false;
  if (cfg_.vhost_net == VhostNet::On) {
    if (::access("/dev/vhost-net", R_OK | W_OK) != 0)
      return make_error(
          "vhost_net = \"on\" but /dev/vhost-net is unusable ({}); fix: modprobe vhost_net, or "
          "vhost_net = \"off\"",
          std::strerror(errno));
    vhost = true;
  } else if (cfg_.vhost_net == VhostNet::Auto) {
    // vhost-net's in-kernel datapath relies on KVM's ioeventfd/irqfd.
    vhost = !accel_.emulated() && ::access("/dev/vhost-net", R_OK | W_OK) == 0;
  }
  if (cfg_.hugepages) {
    const uint64_t need = cfg_.memory >> 21;
    auto free_pages = read_line("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages");
    const uint64_t have = free_pages ? std::stoull(*free_pages) : 0;
    if (have < need)
      return make_error(
          "hugepages = true needs {} free 2MiB huge pages, the host has {}; fix: echo {} > "
          "/proc/sys/vm/nr_hugepages (or lower memory)",
          need, have, need);
  }

  auto state = EnvState::create(spec_.run_id, "kvm", spec_.name);
  if (!state) return state.error();
  state_ = std::move(*state);
  if (auto s = prepare_disk(); !s) return s;
  auto link = create_guest_link(spec_.run_id, spec_.name);
  if (!link) return link.error();
  link_ = std::move(*link);
  if (auto s = state_.record("tap", link_.tap); !s) return s;

  auto qmp_listen = listen_unix(state_.path("qmp.sock"));
  if (!qmp_listen) return qmp_listen.error();
  auto ctl_listen = listen_unix(state_.path("ctl.sock"));
  if (!ctl_listen) return ctl_listen.error();

  const auto argv = qemu_argv(initrd->path, vhost);
  describe_.update(
      {{"accel", std::string(to_string(accel_.accel))},
       {"accel_reason", accel_.reason},
       {"vcpu_threads",
        accel_.emulated() ? "one host thread for all vCPUs (single-threaded TCG)" : "one host thread per vCPU"},
       {"qemu", argv[0]},
       {"machine", std::string(name_of(kMachines, cfg_.machine))},
       {"vcpus", cfg_.vcpus},
       {"memory", format_size(cfg_.memory)},
       {"hugepages", cfg_.hugepages},
       {"kernel",
        {{"image", kernel_.image},
         {"version", kernel_.version},
         {"origin", kernel_.origin},
         {"builtin", kernel_.builtin},
         {"note", kernel_.note}}},
       {"initramfs", {{"path", initrd->path}, {"sha256", initrd->hash}, {"reused", initrd->reused}}},
       {"disk",
        {{"image", image_},
         {"size", format_size(cfg_.disk_size)},
         {"cache", std::string(name_of(kDiskCaches, cfg_.disk_cache))},
         {"aio", std::string(name_of(kDiskAios, cfg_.disk_aio))},
         {"fs", "ext4"}}},
       {"net", {{"tap", link_.tap}, {"host", link_.host_ip}, {"guest", link_.guest_ip}, {"vhost_net", vhost}}},
       {"qemu_argv", argv}});
  nlohmann::json mods = nlohmann::json::array();
  for (const auto& m : kernel_.modules) mods.push_back(m.name);
  describe_["kernel"]["modules"] = mods;

  const uint64_t t0 = now_ns();
  const uint64_t deadline = deadline_after_s(spec_.start_timeout_s);
  if (auto s = spawn_qemu(argv); !s) return s;
  console_cap_ = std::make_unique<ConsoleCap>(state_.path("console.log"), kConsoleCapBytes, kConsoleKeepBytes);
  auto qmp_fd = accept_from_qemu(qmp_listen->get(), "QMP socket", deadline);
  if (!qmp_fd) return guest_failure(qmp_fd.error().message);
  auto ctl_fd = accept_from_qemu(ctl_listen->get(), "control port", deadline);
  if (!ctl_fd) return guest_failure(ctl_fd.error().message);
  // Connected: the socket files have done their job.
  ::unlink(state_.path("qmp.sock").c_str());
  ::unlink(state_.path("ctl.sock").c_str());
  qmp_ = QmpClient(std::move(*qmp_fd));
  auto greeting = qmp_.handshake(10);
  if (!greeting) return guest_failure(greeting.error().message);
  if (greeting->contains("version")) describe_["qemu_version"] = (*greeting)["version"];
  // QEMU's own word on the accelerator, in case it fell back silently.
  if (auto k = qmp_.execute("query-kvm"); k && k->contains("enabled")) {
    const bool kvm_on = (*k)["enabled"].get<bool>();
    if (kvm_on == accel_.emulated())
      return guest_failure(
          fmt::format("qemu reports KVM enabled={} but accel={} was asked", kvm_on, to_string(accel_.accel)));
  }
  if (auto s = pin_vcpus(); !s) return guest_failure(s.error().message);
  if (!accel_.emulated()) {
    auto probe = qmp_.execute("query-stats", {{"target", "vcpu"}});
    kvm_stats_ = probe && probe->is_array() && !probe->empty();
    describe_["kvm_exit_counts"] =
        kvm_stats_
            ? "per sample, from KVM's binary stats (QMP query-stats)"
            : "unavailable: " + (probe ? std::string("QMP query-stats returned no KVM stats") : probe.error().message);
  } else {
    describe_["kvm_exit_counts"] = "unavailable: TCG emulation has no KVM exits";
  }
  if (auto c = qmp_.execute("cont"); !c) return guest_failure(c.error().message);
  ch_ = AgentChannel(std::move(*ctl_fd));
  if (auto s = wait_for_agent(t0, deadline); !s) return guest_failure(s.error().message);
  ready_ = true;
  return {};
}

std::map<std::string, double> KvmSession::kvm_exit_counts() {
  std::map<std::string, double> sum;
  if (!kvm_stats_) return sum;
  auto r = qmp_.execute("query-stats", {{"target", "vcpu"}});
  if (!r || !r->is_array()) return sum;
  for (const auto& vcpu : *r) {
    if (!vcpu.contains("stats") || !vcpu["stats"].is_array()) continue;
    for (const auto& st : vcpu["stats"]) {
      if (!st.contains("name") || !st["name"].is_string() || !st.contains("value") || !st["value"].is_number())
        continue;
      const std::string name = st["name"];
      if (name.find("exits") != std::string::npos) sum[name] += st["value"].get<double>();
    }
  }
  return sum;
}

double KvmSession::vcpu_cpu_seconds() const {
  double total = 0;
  for (pid_t tid : vcpu_tids_) total += cpu_seconds(fmt::format("/proc/{}/task/{}/stat", qemu_pid_, tid)).value_or(0);
  return total;
}

// The vCPU threads counted from the host: guest and host mode together, and
// split (NAME:G / NAME:H) where the CPU really enters guest mode (hardware
// KVM). Kept open across samples; each start() opens a new window.
HostCounters* KvmSession::vcpu_counters(const std::vector<std::string>& names) {
  if (names.empty()) return nullptr;
  if (vcpu_counters_ && vcpu_counter_names_ == names) return vcpu_counters_.get();
  vcpu_counters_.reset();
  vcpu_counter_names_ = names;
  if (vcpu_tids_.empty()) {
    vcpu_counter_note_ = "QEMU reported no vCPU thread ids (QMP query-cpus-fast)";
    return nullptr;
  }
  auto c = HostCounters::for_threads(vcpu_tids_, names, {.split_guest_host = !accel_.emulated()});
  if (!c) {
    vcpu_counter_note_ = c.error().message;
    return nullptr;
  }
  vcpu_counter_note_.clear();
  vcpu_counters_ = std::move(*c);
  return vcpu_counters_.get();
}

Result<Sample> KvmSession::run(const WorkloadRequest& req) {
  if (!ready_ || dead_)
    return make_error("{}: the guest is not running{}", label(), dead_reason_.empty() ? "" : ": " + dead_reason_);
  std::string peer;
  if (req.needs_peer) {
    if (peer_.pid() < 0) {
      // The peer listens on the host end of the tap.
      auto addr = peer_.start(spec_.agent_path, link_.host_ip + ":0");
      if (!addr) return addr.error().context(label());
      peer_addr_ = *addr;
    }
    peer = peer_addr_;
  }
  // Every QEMU thread (vCPUs, I/O threads, main loop) is the agent's side;
  // an explicit vcpu_pinning knob pins the vCPUs itself.
  if (auto p = placement_.apply(req.needs_peer,
                                cfg_.vcpu_pinning.empty() ? std::vector<pid_t>{qemu_pid_} : std::vector<pid_t>{},
                                req.needs_peer ? peer_.pid() : -1);
      !p)
    return p.error().context(label());
  const std::string stat = fmt::format("/proc/{}/stat", qemu_pid_);
  const auto irq_cpus = softirq_cpus(placement_.policy(), req.needs_peer, host_cpu_count(), !cfg_.vcpu_pinning.empty());
  // Under TCG the CPU never enters guest mode: no guest part to report.
  auto qemu_times = [&]() {
    auto t = cpu_snapshot(qemu_cpu_times(qemu_pid_, vcpu_tids_), irq_cpus, qemu_pid_);
    if (t && accel_.emulated()) t->guest.reset();
    return t;
  };
  const auto times0 = qemu_times();
  const auto cpu0 = cpu_seconds(stat);
  const double vcpu0 = vcpu_cpu_seconds();
  const auto exits0 = kvm_exit_counts();
  HostCounters* counters = vcpu_counters(req.counters);
  const uint64_t t0 = now_ns();
  if (counters) (void)counters->start();
  auto s = ch_.run(req, kGuestScratch, peer);
  if (counters) (void)counters->stop();
  const double window_s = static_cast<double>(now_ns() - t0) / 1e9;
  const auto times1 = s ? qemu_times() : std::nullopt;
  if (!s) {
    if (!qemu_running()) {
      dead_ = true;
      dead_reason_ = "qemu exited during " + req.workload;
      return guest_failure(fmt::format("{}: {} ({})", label(), dead_reason_, s.error().message));
    }
    // Still running but not answering (a hung workload, a stalled or
    // locked-up guest kernel): what the guest's console said is the clue.
    return guest_failure(s.error().context(label()).message);
  }
  const auto cpu1 = cpu_seconds(stat);
  const double vcpu1 = vcpu_cpu_seconds();
  if (cpu0 && cpu1) {
    // Host-side cost of the whole guest during the request, split into vCPU
    // threads and everything else (device emulation, I/O threads, main loop).
    s->env_metrics.push_back({"qemu_cpu_s", *cpu1 - *cpu0, "s", Better::Lower});
    s->env_metrics.push_back({"qemu_vcpu_cpu_s", vcpu1 - vcpu0, "s", Better::Lower});
    s->env_metrics.push_back({"qemu_other_cpu_s", (*cpu1 - *cpu0) - (vcpu1 - vcpu0), "s", Better::Lower});
  }
  if (!req.counters.empty()) {
    auto readings = counters ? counters->readings()
                             : unsupported_readings(req.counters, "host-vcpu",
                                                    "vCPU thread counters unavailable: " + vcpu_counter_note_);
    for (auto& m : derived_counter_metrics(readings)) s->metrics.push_back(std::move(m));
    s->counters.insert(s->counters.end(), readings.begin(), readings.end());
  }
  add_cpu_attribution(*s, times0, times1, window_s);
  if (kvm_stats_) {
    const auto exits1 = kvm_exit_counts();
    for (const auto& [name, v1] : exits1) {
      auto it = exits0.find(name);
      if (it != exits0.end()) s->env_metrics.push_back({"kvm_" + name, v1 - it->second, "exits", Better::Lower});
    }
  }
  return s;
}

Status KvmSession::stop() {
  if (stopped_) return {};
  stopped_ = true;
  peer_.stop();
  if (qemu_pid_ > 0) {
    // In order: the agent syncs and powers the guest off; QMP quit if it
    // does not; SIGKILL as the last resort.
    if (ready_ && !dead_ && ch_.shutdown(5)) wait_qemu_exit(30);
    if (qemu_running() && qmp_.connected()) {
      (void)qmp_.execute("quit", nullptr, 2);
      wait_qemu_exit(5);
    }
    if (qemu_running()) {
      ::kill(qemu_pid_, SIGKILL);
      while (waitpid(qemu_pid_, &qemu_status_, 0) < 0 && errno == EINTR) {
      }
      qemu_pid_ = -1;
    }
  }
  vcpu_counters_.reset();
  console_cap_.reset();
  qmp_.close();
  ch_ = AgentChannel();
  // Our descriptor is the last one on the tap: closing it removes the device.
  link_.fd.reset();
  if (!image_.empty()) ::unlink(image_.c_str());
  (void)state_.remove();
  return {};
}

}  // namespace

std::vector<ParamSpec> KvmDriver::knobs() const {
  return {
      {"accel", ParamType::String, "auto",
       "auto: hardware KVM (kvm_intel/kvm_amd) if the host has it, else TCG; kvm: insist; tcg: emulate", true,
       choice_names(kAccels)},
      {"machine", ParamType::String, "q35", "QEMU machine type", false, choice_names(kMachines)},
      // QEMU's q35 takes at most 1024 vCPUs (with x2APIC).
      ParamSpec{"vcpus", ParamType::Int, "2", "guest vCPUs (auto: the host's online CPUs)", true, {}}.range(1, 1024),
      ParamSpec{"memory", ParamType::Size, "2GiB", "guest RAM", false, {}}.range(64 << 20, ParamSpec::kUnbounded),
      {"hugepages", ParamType::Bool, "false", "back guest RAM with 2MiB huge pages (needs vm.nr_hugepages)", false, {}},
      {"vcpu_pinning",
       ParamType::String,
       "",
       "host CPUs for the vCPU threads, vCPU i on the i-th listed CPU (e.g. \"0-1\"); empty: not pinned",
       false,
       {}},
      {"disk_cache", ParamType::String, "none", "QEMU cache mode of the virtio-blk disk", false,
       choice_names(kDiskCaches)},
      {"disk_aio", ParamType::String, "io_uring", "QEMU AIO engine of the virtio-blk disk", false,
       choice_names(kDiskAios)},
      ParamSpec{
          "disk_size", ParamType::Size, "4GiB", "size of the guest's ext4 scratch disk (a sparse raw file)", false, {}}
          .range(16 << 20, ParamSpec::kUnbounded),
      {"vhost_net", ParamType::String, "auto", "in-kernel virtio-net datapath (auto: on with KVM and /dev/vhost-net)",
       true, choice_names(kVhostNets)},
      {"kernel", ParamType::String, "", "guest kernel (bzImage); empty: host /boot, then ci/bootstrap's", false, {}},
      {"kernel_modules", ParamType::String, "", "module tree of `kernel` (default: /lib/modules/<version>)", false, {}},
      {"kernel_cmdline", ParamType::String, "", "extra guest kernel command line", false, {}},
      {"qemu", ParamType::String, "qemu-system-x86_64", "QEMU binary", false, {}},
  };
}

Availability KvmDriver::probe() const {
  if (find_program("qemu-system-x86_64").empty())
    return {false, "qemu-system-x86_64 not found; fix: apt-get install qemu-system-x86 (ci/bootstrap)"};
  if (find_program("mkfs.ext4").empty()) return {false, "mkfs.ext4 not found; fix: apt-get install e2fsprogs"};
  if (::geteuid() != 0) return {false, "needs root (tap devices, /run/vbench)"};
  if (::access("/dev/net/tun", R_OK | W_OK) != 0)
    return {false, fmt::format("/dev/net/tun: {}; fix: modprobe tun", std::strerror(errno))};
  auto kernel = find_guest_kernel("", "", guest_drivers(Machine::Q35));
  if (!kernel) return {false, kernel.error().message};
  const HostKvm host = detect_host_kvm();
  std::string how = host.hardware() ? host.describe() : "TCG emulation (" + host.describe() + ")";
  std::string mods;
  for (const auto& m : kernel->modules) mods += (mods.empty() ? "" : ",") + m.name;
  Availability a{
      true, fmt::format("{}; guest kernel {} from {} ({}), modules {}{}", how, kernel->version, kernel->origin,
                        kernel->image, mods.empty() ? "none" : mods, kernel->note.empty() ? "" : "; " + kernel->note)};
  a.emulated = !host.hardware();
  return a;
}

Result<std::unique_ptr<Session>> KvmDriver::start(const EnvSpec& spec) {
  auto cfg = parse_knobs(knobs(), spec.knobs);
  if (!cfg) return cfg.error().context(spec.name);
  auto session = std::make_unique<KvmSession>(spec, std::move(*cfg), spec.placement);
  if (auto s = session->boot(); !s) {
    (void)session->stop();
    return s.error().context(spec.name);
  }
  return std::unique_ptr<Session>(std::move(session));
}

Status KvmDriver::cleanup_stale() {
  namespace fs = std::filesystem;
  std::vector<std::string> problems;
  std::error_code ec;
  for (const auto& state : dead_env_states("kvm")) {
    if (auto q = state.read("qemu")) {
      auto qemu = parse_process_identity(*q);
      auto cmd = qemu ? read_file(fmt::format("/proc/{}/cmdline", qemu->pid)) : Result<std::string>(Error{});
      // Only a QEMU that is still this exact process and one of ours.
      if (qemu && process_alive(*qemu) && cmd && cmd->find("vbench-") != std::string::npos) {
        ::kill(qemu->pid, SIGKILL);
        const uint64_t deadline = now_ns() + 10'000'000'000ull;
        while (process_alive(*qemu) && now_ns() < deadline) usleep(10000);
        if (process_alive(*qemu)) problems.push_back(fmt::format("qemu {} did not die", qemu->pid));
      }
    }
    if (auto tap = state.read("tap"); tap && !tap->empty()) {
      if (auto s = remove_tap(*tap); !s) problems.push_back(fmt::format("tap {}: {}", *tap, s.error().message));
    }
    if (auto image = state.read("image"); image && !image->empty()) {
      const std::string base = image->substr(image->rfind('/') + 1);
      if (base.rfind("vbench-", 0) == 0 && ::unlink(image->c_str()) != 0 && errno != ENOENT)
        problems.push_back(sys_error(fmt::format("remove `{}`", *image)).message);
    }
    if (auto s = state.remove(); !s) problems.push_back(s.error().message);
  }
  // Half-written initramfs files of dead processes ("<hash>.cpio.tmp.<pid>").
  for (fs::directory_iterator it(kInitramfsCacheDir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const auto tmp = name.find(".tmp.");
    if (tmp == std::string::npos) continue;
    const pid_t pid = std::atoi(name.c_str() + tmp + 5);
    if (pid > 0 && !process_identity(pid)) fs::remove(it->path(), ec);
  }
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
    return make_error("kvm cleanup: {}", all);
  }
  return {};
}

}  // namespace vbench
