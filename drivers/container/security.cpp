#include "drivers/container/security.hpp"

#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "core/fs.hpp"

namespace vbench {

const std::vector<std::string>& docker_denied_syscalls() {
  // Docker's "significant syscalls blocked by the default profile", plus
  // those it allows only with a capability outside its default set
  // (CAP_SYS_ADMIN, CAP_SYS_NICE, CAP_SYS_PTRACE, CAP_SYS_TIME, CAP_SYSLOG,
  // CAP_SYS_BOOT, CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_PACCT,
  // CAP_SYS_TTY_CONFIG). io_uring stays allowed, as in Docker 20.10.
  static const std::vector<std::string> denied = {
      "acct",
      "add_key",
      "bpf",
      "clock_adjtime",
      "clock_settime",
      "create_module",
      "delete_module",
      "fanotify_init",
      "finit_module",
      "fsconfig",
      "fsmount",
      "fsopen",
      "fspick",
      "get_kernel_syms",
      "get_mempolicy",
      "init_module",
      "ioperm",
      "iopl",
      "kcmp",
      "kexec_file_load",
      "kexec_load",
      "keyctl",
      "lookup_dcookie",
      "mbind",
      "mount",
      "mount_setattr",
      "move_mount",
      "move_pages",
      "name_to_handle_at",
      "nfsservctl",
      "open_by_handle_at",
      "open_tree",
      "perf_event_open",
      "pidfd_getfd",
      "pivot_root",
      "process_vm_readv",
      "process_vm_writev",
      "ptrace",
      "query_module",
      "quotactl",
      "quotactl_fd",
      "reboot",
      "request_key",
      "set_mempolicy",
      "setdomainname",
      "sethostname",
      "setns",
      "settimeofday",
      "stime",
      "swapoff",
      "swapon",
      "_sysctl",
      "sysfs",
      "syslog",
      "umount",
      "umount2",
      "unshare",
      "uselib",
      "userfaultfd",
      "ustat",
      "vhangup",
      "vm86",
      "vm86old",
      "clone",
      "clone3",
      "personality",
  };
  return denied;
}

Result<std::vector<sock_filter>> docker_default_seccomp_program() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (!ctx) return make_error("seccomp_init failed");
  struct Release {
    scmp_filter_ctx c;
    ~Release() { seccomp_release(c); }
  } release{ctx};
  const auto& denied = docker_denied_syscalls();
  // Every syscall this libseccomp knows on the native architecture, in
  // number order, except the denied ones (clone, clone3 and personality
  // get their own rules below).
  for (int nr = 0; nr < 1024; ++nr) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (!name) continue;
    const bool deny = std::find(denied.begin(), denied.end(), name) != denied.end();
    std::free(name);
    if (deny) continue;
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0); rc < 0)
      return make_error("seccomp_rule_add({}): {}", nr, std::strerror(-rc));
  }
  // clone without namespace flags (threads and fork), as Docker allows it.
  const uint64_t ns_flags =
      CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
  if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags, 0));
      rc < 0)
    return make_error("seccomp rule for clone: {}", std::strerror(-rc));
  // clone3's flags live in memory a filter cannot read: Docker answers
  // ENOSYS, and libc falls back to clone.
  if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0); rc < 0)
    return make_error("seccomp rule for clone3: {}", std::strerror(-rc));
  for (uint64_t v : {0x0ull, 0x8ull, 0x20000ull, 0x20008ull, 0xffffffffull})
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1, SCMP_A0(SCMP_CMP_EQ, v)); rc < 0)
      return make_error("seccomp rule for personality: {}", std::strerror(-rc));

  UniqueFd mem(static_cast<int>(::syscall(SYS_memfd_create, "vbench-seccomp", MFD_CLOEXEC)));
  if (!mem) return sys_error("memfd_create");
  if (int rc = seccomp_export_bpf(ctx, mem.get()); rc < 0)
    return make_error("seccomp_export_bpf: {}", std::strerror(-rc));
  const off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) return make_error("seccomp: exported program of {} bytes", size);
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), prog.data(), static_cast<size_t>(size), 0) != size)
    return sys_error("read the seccomp program");
  return prog;
}

std::vector<int> docker_default_capability_numbers() {
  return {
      CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,  CAP_FOWNER,           CAP_MKNOD,      CAP_NET_RAW, CAP_SETGID,
      CAP_SETUID, CAP_SETFCAP,      CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,    CAP_AUDIT_WRITE};
}

Status apply_security(const SecurityPlan& plan) {
  if (plan.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return sys_error("PR_SET_NO_NEW_PRIVS");
  uint64_t keep = 0;
  for (int c : plan.keep_caps) keep |= 1ull << c;
  if (plan.drop_capabilities) {
    // The bounding set is what root keeps across execve: cut it first.
    for (int cap = 0; cap < 64; ++cap) {
      if (keep & (1ull << cap)) continue;
      if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
        if (errno == EINVAL) break;  // past the kernel's last capability
        return sys_error("PR_CAPBSET_DROP");
      }
    }
  }
  if (!plan.seccomp.empty()) {
    // SECCOMP_SET_MODE_FILTER: needs CAP_SYS_ADMIN or no_new_privs; we still
    // hold CAP_SYS_ADMIN in the effective set here.
    sock_fprog prog{static_cast<unsigned short>(plan.seccomp.size()), const_cast<sock_filter*>(plan.seccomp.data())};
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return sys_error("seccomp(SET_MODE_FILTER)");
  }
  if (plan.drop_capabilities) {
    // And the current sets, so that nothing between here and exec has more.
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    for (int i = 0; i < 2; ++i) {
      const auto bits = static_cast<uint32_t>(keep >> (32 * i));
      data[i].effective = data[i].permitted = data[i].inheritable = bits;
    }
    if (::syscall(SYS_capset, &hdr, data) != 0) return sys_error("capset");
  }
  return {};
}

}  // namespace vbench
