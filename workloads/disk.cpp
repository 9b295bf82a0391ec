// disk.*: sequential and random file I/O, and write+fdatasync, on a test file
// in the scratch directory.
//
// What each workload does, exactly:
//   seqread / seqwrite  one thread, synchronous pread/pwrite of `bs` blocks from
//                       offset 0 upwards, wrapping at the end of the file (like
//                       fio --rw=read/write --ioengine=psync).
//   randread/randwrite  one thread, io_uring, `qd` I/Os of `bs` in flight at
//                       block-aligned offsets drawn uniformly from the file by a
//                       seeded SplitMix64; each I/O's latency runs from just
//                       before the io_uring_enter that submits it to just after
//                       the one that reaps it. That is fio's total latency `lat`
//                       (slat + clat, printed with --lat_percentiles=1), not its
//                       clat: the submission path (for a virtio disk, the
//                       doorbell's VM exit) is part of what an I/O costs, and
//                       isolation overhead shows up there.
//   fsync               one thread, pwrite of `bs` then fdatasync, sequential
//                       offsets wrapping over the file; the latency is the pair's.
// The file is created with O_EXCL, unlinked at once (so it disappears when the
// descriptor closes, even if the workload process is killed), preallocated with
// fallocate, and, for the read patterns and fsync, written in full with random
// data before the measured region, so that reads hit real blocks, not holes or
// unwritten extents. For seqwrite and randwrite it is only preallocated, as fio
// does for a write job. Page-cache copies are dropped (POSIX_FADV_DONTNEED)
// before measuring, so direct=false starts cold too.
#include "workloads/disk.hpp"

#include <fcntl.h>
#include <liburing.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "core/units.hpp"
#include "workloads/registry.hpp"

namespace vbench::disk {

const char* to_string(Pattern p) {
  switch (p) {
    case Pattern::SeqRead:
      return "seqread";
    case Pattern::SeqWrite:
      return "seqwrite";
    case Pattern::RandRead:
      return "randread";
    case Pattern::RandWrite:
      return "randwrite";
    case Pattern::Fsync:
      return "fsync";
  }
  return "?";
}

namespace {

// Count bounds: no device we know of does more than this per second from one
// thread, so the count bound only stops a loop if the clock misbehaves.
constexpr double kCeilingIops = 20e6;
constexpr double kCeilingBytesPerSecond = 200e9;
constexpr uint64_t kMaxBlockSize = 64ull << 20;
constexpr int64_t kMaxQueueDepth = 4096;
constexpr double kMaxDurationS = 24 * 3600.0;
constexpr uint64_t kFillChunk = 1ull << 20;

bool is_write(Pattern p) { return p == Pattern::SeqWrite || p == Pattern::RandWrite || p == Pattern::Fsync; }
bool is_random(Pattern p) { return p == Pattern::RandRead || p == Pattern::RandWrite; }

// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit word of state, passes
// BigCrush, a handful of cycles per number.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) without modulo bias worth the name (Lemire's multiply-shift).
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }
  void fill(char* p, size_t len) {
    for (size_t i = 0; i + 8 <= len; i += 8) {
      const uint64_t v = next();
      std::memcpy(p + i, &v, 8);
    }
  }

 private:
  uint64_t s_;
};

constexpr uint64_t kSeed = 0x7662656e63686469ull;  // "vbenchdi": the same offsets every run

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<char, FreeDeleter>;

Result<AlignedBuffer> aligned_buffer(size_t size, size_t align) {
  size = (size + align - 1) / align * align;
  void* p = std::aligned_alloc(align, size);
  if (!p) return make_error("cannot allocate a {}-byte I/O buffer aligned to {}", size, align);
  std::memset(p, 0, size);
  return AlignedBuffer(static_cast<char*>(p));
}

std::string fs_type_name(long type) {
  switch (static_cast<unsigned long>(type)) {
    case 0xEF53:
      return "ext4";  // ext2/3/4 share the magic
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs";
    case 0x858458F6:
      return "ramfs";
    case 0x794C7630:
      return "overlayfs";
    case 0x6969:
      return "nfs";
    case 0x01021997:
      return "9p";
    case 0x65735546:
      return "fuse";
    case 0x2FC12FC1:
      return "zfs";
    case 0xF2F52010:
      return "f2fs";
    case 0x4d44:
      return "vfat";
  }
  return fmt::format("filesystem type {:#x}", static_cast<unsigned long>(type));
}

std::string fs_type_of(const std::string& path) {
  struct statfs sf;
  if (::statfs(path.c_str(), &sf) != 0) return "unknown filesystem";
  return fs_type_name(sf.f_type);
}

Status check_scratch_dir(const std::string& dir) {
  if (dir.empty()) return make_error("no scratch directory given (--scratch DIR)");
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return sys_error(fmt::format("scratch directory `{}`", dir));
  if (!S_ISDIR(st.st_mode)) return make_error("scratch directory `{}`: not a directory", dir);
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return sys_error(fmt::format("scratch directory `{}` is not writable", dir));
  return {};
}

Error no_space(const std::string& dir, uint64_t needed, const std::string& what, int err) {
  struct statvfs sv;
  std::string avail = "unknown";
  if (::statvfs(dir.c_str(), &sv) == 0)
    avail = fmt::format("{} bytes ({})", static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize,
                        format_size(static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize));
  return Error{fmt::format("not enough space in `{}` for the test file: {} bytes ({}) needed, {} available "
                           "({}: {}); free space or lower file_size",
                           dir, needed, format_size(needed), avail, what, std::strerror(err)),
               err};
}

struct TestFile {
  UniqueFd fd;
  std::string path;  // the name it had; unlinked right after creation
  std::string dir;
  std::string fs;  // filesystem type, for messages
  uint64_t size = 0;
  size_t mem_align = 4096;  // buffer alignment for O_DIRECT
};

// Creates the file and takes its name away at once: from then on it exists
// only through our descriptor, so no exit path (error, signal, OOM kill)
// leaves it behind.
Result<TestFile> create_test_file(const std::string& dir, Pattern p, bool direct, uint64_t bs, uint64_t size) {
  if (auto s = check_scratch_dir(dir); !s) return s.error();
  TestFile f;
  f.dir = dir;
  f.size = size;
  f.fs = fs_type_of(dir);
  f.path = fmt::format("{}/vbench-disk-{}-{}.dat", dir, to_string(p), ::getpid());
  const int flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | (direct ? O_DIRECT : 0);
  int fd = ::open(f.path.c_str(), flags, 0600);
  if (fd < 0 && errno == EEXIST) {
    // Left by an earlier process with our pid (pids are reused): it is ours to remove.
    ::unlink(f.path.c_str());
    fd = ::open(f.path.c_str(), flags, 0600);
  }
  if (fd < 0) {
    const int e = errno;
    // O_EXCL: if anything now has this name, this open created it.
    ::unlink(f.path.c_str());
    if (e == EINVAL && direct)
      return Error{fmt::format("`{}`: {} does not support O_DIRECT (open: {}); run with direct=false to "
                               "measure through the page cache, or use a scratch directory on a disk filesystem",
                               f.path, f.fs, std::strerror(e)),
                   e};
    if (e == ENOSPC) return no_space(dir, size, fmt::format("create `{}`", f.path), e);
    return sys_error(fmt::format("create `{}`", f.path), e);
  }
  f.fd.reset(fd);
  if (::unlink(f.path.c_str()) != 0) return sys_error(fmt::format("unlink `{}`", f.path));

  if (direct) {
#ifdef STATX_DIOALIGN
    // Linux >= 6.1 says what O_DIRECT needs; older kernels leave the mask bit clear.
    struct statx stx;
    if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 && (stx.stx_mask & STATX_DIOALIGN)) {
      if (stx.stx_dio_offset_align == 0)
        return make_error("`{}`: {} does not support O_DIRECT for this file; run with direct=false", f.path, f.fs);
      if (bs % stx.stx_dio_offset_align != 0)
        return make_error("bs={} is not a multiple of the {}-byte direct-I/O alignment {} requires for `{}`", bs,
                          stx.stx_dio_offset_align, f.fs, f.path);
      f.mem_align = std::max<size_t>(f.mem_align, stx.stx_dio_mem_align);
    }
#endif
  }
  return f;
}

// Preallocates the file and, if `fill`, writes all of it (random data, in
// 1 MiB chunks through the same descriptor) and waits for it to be stable.
Status prepare_test_file(TestFile& f, bool fill, const std::atomic<bool>* stop) {
  bool allocated = true;
  // mode 0: allocate blocks and extend the size; the blocks read as zeros
  // (unwritten extents) until written.
  if (::fallocate(f.fd.get(), 0, 0, static_cast<off_t>(f.size)) != 0) {
    if (errno == ENOSPC || errno == EDQUOT) return no_space(f.dir, f.size, "fallocate", errno);
    if (errno != EOPNOTSUPP) return sys_error(fmt::format("fallocate {} bytes for `{}`", f.size, f.path));
    allocated = false;  // e.g. some network filesystems: write the blocks instead
  }
  if (fill || !allocated) {
    auto buf = aligned_buffer(kFillChunk, f.mem_align);
    if (!buf) return buf.error();
    SplitMix64 rng(kSeed ^ 0x66696c6cull);
    for (uint64_t off = 0; off < f.size;) {
      if (stop && stop->load(std::memory_order_relaxed)) return make_error("interrupted while writing the test file");
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kFillChunk, f.size - off));
      rng.fill(buf->get(), n);
      const ssize_t w = ::pwrite(f.fd.get(), buf->get(), n, static_cast<off_t>(off));
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOSPC || errno == EDQUOT) return no_space(f.dir, f.size, "write", errno);
        return sys_error(fmt::format("write `{}` at offset {}", f.path, off));
      }
      if (w == 0) return make_error("write `{}` at offset {}: wrote nothing", f.path, off);
      off += static_cast<uint64_t>(w);
    }
  }
  if (::fdatasync(f.fd.get()) != 0) return sys_error(fmt::format("fdatasync `{}`", f.path));
  // Clean page-cache copies go, so that buffered runs start cold (fio's invalidate=1).
  (void)::posix_fadvise(f.fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  return {};
}

struct Bounds {
  uint64_t duration_ns = 0;
  uint64_t max_ios = 0;
  const std::atomic<bool>* stop = nullptr;
  bool stopping() const { return stop && stop->load(std::memory_order_relaxed); }
};

Error io_error(const TestFile& f, bool write, uint64_t off, size_t bs, int err) {
  if (err == EINVAL)
    return Error{fmt::format("{} of {} bytes at offset {} of `{}` ({}): {}; for O_DIRECT, bs and offsets must be "
                             "multiples of the device's logical block size",
                             write ? "write" : "read", bs, off, f.path, f.fs, std::strerror(err)),
                 err};
  if (err == ENOSPC || err == EDQUOT) return no_space(f.dir, f.size, "write", err);
  return sys_error(fmt::format("{} of {} bytes at offset {} of `{}`", write ? "write" : "read", bs, off, f.path), err);
}

// The measured loop of seqread/seqwrite: synchronous I/O of `bs` at
// increasing offsets, wrapping at the end of the file.
Result<DiskTally> sequential_loop(const TestFile& f, bool write, bool flush_at_end, char* buf, size_t bs,
                                  const Bounds& b) {
  DiskTally t;
  const uint64_t nblocks = f.size / bs;
  uint64_t block = 0;
  const uint64_t t0 = now_ns();
  uint64_t now = t0;
  while (t.ios < b.max_ios && now - t0 < b.duration_ns && !b.stopping()) {
    const off_t off = static_cast<off_t>(block * bs);
    const ssize_t n = write ? ::pwrite(f.fd.get(), buf, bs, off) : ::pread(f.fd.get(), buf, bs, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(f, write, block * bs, bs, errno);
    if (static_cast<size_t>(n) != bs)
      return make_error("short {} at offset {} of `{}`: {} of {} bytes", write ? "write" : "read", block * bs, f.path,
                        n, bs);
    ++t.ios;
    t.bytes += bs;
    block = block + 1 == nblocks ? 0 : block + 1;
    now = now_ns();
  }
  // Buffered writes have only reached the page cache: the flush is part of
  // writing them (fio's end_fsync=1).
  if (flush_at_end && ::fdatasync(f.fd.get()) != 0) return sys_error(fmt::format("fdatasync `{}`", f.path));
  t.elapsed_ns = now_ns() - t0;
  return t;
}

// The measured loop of fsync: pwrite of `bs` then fdatasync, timed as a pair.
Result<DiskTally> fsync_loop(const TestFile& f, char* buf, size_t bs, const Bounds& b) {
  DiskTally t;
  t.has_latency = true;
  const uint64_t nblocks = f.size / bs;
  uint64_t block = 0;
  const uint64_t t0 = now_ns();
  uint64_t now = t0;
  while (t.ios < b.max_ios && now - t0 < b.duration_ns && !b.stopping()) {
    const uint64_t start = now_ns();
    const off_t off = static_cast<off_t>(block * bs);
    ssize_t n;
    do n = ::pwrite(f.fd.get(), buf, bs, off);
    while (n < 0 && errno == EINTR);
    if (n < 0) return io_error(f, true, block * bs, bs, errno);
    if (static_cast<size_t>(n) != bs)
      return make_error("short write at offset {} of `{}`: {} of {} bytes", block * bs, f.path, n, bs);
    int rc;
    do rc = ::fdatasync(f.fd.get());
    while (rc != 0 && errno == EINTR);
    if (rc != 0) return sys_error(fmt::format("fdatasync `{}`", f.path));
    now = now_ns();
    t.latency.record(now - start);
    ++t.ios;
    t.bytes += bs;
    block = block + 1 == nblocks ? 0 : block + 1;
  }
  t.elapsed_ns = now - t0;
  return t;
}

class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() {
    if (live_) io_uring_queue_exit(&ring_);
  }
  io_uring* get() { return &ring_; }

  Status init(unsigned entries) {
    // One thread submits and reaps, so completion work can wait until we ask
    // for events (SINGLE_ISSUER | DEFER_TASKRUN, Linux >= 6.1; fio asks for the
    // same). Older kernels reject the flags with EINVAL: retry with fewer.
    const unsigned tries[] = {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN,
                              IORING_SETUP_COOP_TASKRUN, 0};
    int rc = -EINVAL;
    for (unsigned flags : tries) {
      io_uring_params p{};
      p.flags = flags;
      rc = io_uring_queue_init_params(entries, &ring_, &p);
      if (rc != -EINVAL) break;
    }
    if (rc == 0) {
      live_ = true;
      return {};
    }
    std::string why;
    if (rc == -ENOSYS)
      why = "the kernel was built without io_uring";
    else if (rc == -EPERM || rc == -EACCES) {
      auto disabled = read_line("/proc/sys/kernel/io_uring_disabled");
      why = fmt::format(
          "kernel.io_uring_disabled = {}, or a seccomp filter (container runtimes' default profiles) "
          "blocks io_uring_setup",
          disabled ? *disabled : std::string("?"));
    } else if (rc == -ENOMEM)
      why = "locked-memory limit too low for the rings on kernels before 5.12 (raise RLIMIT_MEMLOCK)";
    else
      why = "unexpected error";
    return Error{fmt::format("io_uring is unavailable (io_uring_setup with {} entries: {}): {}", entries,
                             std::strerror(-rc), why),
                 -rc};
  }

 private:
  io_uring ring_{};
  bool live_ = false;
};

struct IoSlot {
  char* buf = nullptr;
  uint64_t offset = 0;
  uint64_t submitted_ns = 0;
};

// The measured loop of randread/randwrite: keeps up to slots.size() I/Os in
// flight. Each round stamps the I/Os it is about to submit, submits them and
// waits for at least one completion in one io_uring_enter, then reaps every
// completion that is there and submits a replacement for each right away. When time is up
// (or the count bound or a stop is reached) it stops queueing and drains what
// is in flight, which counts: the tally runs from the first submission to the
// last completion. An I/O error also drains before returning, so that no
// buffer is released with an I/O still aimed at it.
Result<DiskTally> random_loop(Ring& ring, const TestFile& f, bool write, std::vector<IoSlot>& slots, size_t bs,
                              SplitMix64& rng, const Bounds& b) {
  DiskTally t;
  t.has_latency = true;
  const uint64_t nblocks = f.size / bs;
  std::vector<uint32_t> to_stamp;
  to_stamp.reserve(slots.size());
  uint64_t issued = 0, inflight = 0;
  auto queue = [&](uint32_t i) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring.get());  // never null: at most slots.size() <= entries queued
    IoSlot& s = slots[i];
    s.offset = rng.below(nblocks) * bs;
    if (write)
      io_uring_prep_write(sqe, f.fd.get(), s.buf, static_cast<unsigned>(bs), s.offset);
    else
      io_uring_prep_read(sqe, f.fd.get(), s.buf, static_cast<unsigned>(bs), s.offset);
    io_uring_sqe_set_data64(sqe, i);
    to_stamp.push_back(i);
    ++issued;
  };
  for (uint32_t i = 0; i < slots.size() && issued < b.max_ios; ++i) queue(i);

  bool issuing = true;
  std::optional<Error> failure;
  const uint64_t t0 = now_ns();
  uint64_t last = t0;
  while (inflight + to_stamp.size() > 0) {
    const uint64_t submit_ns = now_ns();
    for (uint32_t i : to_stamp) slots[i].submitted_ns = submit_ns;
    inflight += to_stamp.size();
    to_stamp.clear();
    const int rc = io_uring_submit_and_wait(ring.get(), 1);
    // EINTR: nothing was submitted nor reaped; the queued entries stay in the ring.
    if (rc == -EINTR) continue;
    if (rc < 0) return Error{fmt::format("io_uring_enter: {}", std::strerror(-rc)), -rc};
    const uint64_t done_ns = now_ns();
    last = done_ns;
    if (issuing && (done_ns - t0 >= b.duration_ns || b.stopping())) issuing = false;
    unsigned head, seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring.get(), head, cqe) {
      ++seen;
      const auto i = static_cast<uint32_t>(io_uring_cqe_get_data64(cqe));
      const IoSlot& s = slots[i];
      --inflight;
      if (cqe->res < 0 || static_cast<size_t>(cqe->res) != bs) {
        if (!failure)
          failure = cqe->res < 0 ? io_error(f, write, s.offset, bs, -cqe->res)
                                 : make_error("short {} at offset {} of `{}`: {} of {} bytes", write ? "write" : "read",
                                              s.offset, f.path, cqe->res, bs);
        issuing = false;
        continue;
      }
      // An I/O submitted during this reaping (below) can complete and show
      // up in the same pass: its completion is later than done_ns.
      t.latency.record((s.submitted_ns > done_ns ? now_ns() : done_ns) - s.submitted_ns);
      ++t.ios;
      t.bytes += bs;
      if (issuing && issued < b.max_ios) {
        // Like fio (iodepth_batch_submit=1): each replacement goes to the
        // device at once. Batching them with the next wait kept the device
        // idle meanwhile: 18% fewer IOPS than fio at QD32 on virtio-blk.
        queue(i);
        const uint64_t now = now_ns();
        for (uint32_t j : to_stamp) slots[j].submitted_ns = now;
        const int sr = io_uring_submit(ring.get());
        if (sr > 0) {
          inflight += to_stamp.size();
          to_stamp.clear();
        } else if (sr < 0 && sr != -EINTR) {
          return Error{fmt::format("io_uring_enter: {}", std::strerror(-sr)), -sr};
        }  // else (EINTR) they stay queued; the next round submits and counts them
      }
    }
    io_uring_cq_advance(ring.get(), seen);
  }
  if (failure) return *failure;
  t.elapsed_ns = last - t0;
  return t;
}

struct DiskParams {
  uint64_t bs = 0;
  uint64_t file_size = 0;
  double duration_s = 0;
  bool direct = false;
  int64_t qd = 1;
};

Result<DiskParams> read_params(Pattern p, const Params& in) {
  DiskParams d;
  d.bs = in.get_size("bs");
  d.file_size = in.get_size("file_size");
  d.duration_s = in.get_seconds("duration");
  d.direct = p != Pattern::Fsync && in.get_bool("direct");
  if (is_random(p)) d.qd = in.get_int("qd");
  if (d.bs == 0 || d.bs > kMaxBlockSize)
    return make_error("bs={} is out of range (1 byte to {})", d.bs, format_size(kMaxBlockSize));
  if (d.direct && d.bs % 512 != 0)
    return make_error("bs={} is not a multiple of 512 bytes, which O_DIRECT needs; use direct=false", d.bs);
  if (d.file_size < d.bs) return make_error("file_size={} is smaller than bs={}", d.file_size, d.bs);
  if (d.file_size % d.bs != 0)
    return make_error("file_size={} is not a multiple of bs={}", format_size(d.file_size), format_size(d.bs));
  if (!(d.duration_s > 0) || d.duration_s > kMaxDurationS)
    return make_error("duration={}s is out of range (more than 0, at most {})", d.duration_s,
                      format_duration(kMaxDurationS));
  if (d.qd < 1 || d.qd > kMaxQueueDepth) return make_error("qd={} is out of range (1 to {})", d.qd, kMaxQueueDepth);
  return d;
}

}  // namespace

Result<DiskTally> measure(Pattern p, const WorkloadContext& ctx) {
  auto params = read_params(p, ctx.params);
  if (!params) return params.error();
  const DiskParams& d = *params;

  Bounds bounds;
  bounds.duration_ns = static_cast<uint64_t>(d.duration_s * 1e9);
  bounds.max_ios = static_cast<uint64_t>(
      std::ceil(d.duration_s * std::min(kCeilingIops, kCeilingBytesPerSecond / static_cast<double>(d.bs))));
  bounds.max_ios = std::max<uint64_t>(bounds.max_ios, static_cast<uint64_t>(d.qd));
  bounds.stop = ctx.stop;

  // Declared before the ring so that they outlive it.
  AlignedBuffer buffers;
  // The ring first: if io_uring is missing, say so before writing a file.
  Ring ring;
  if (is_random(p))
    if (auto s = ring.init(static_cast<unsigned>(d.qd)); !s) return s.error();

  auto file = create_test_file(ctx.scratch_dir, p, d.direct, d.bs, d.file_size);
  if (!file) return file.error();
  const bool fill = p == Pattern::SeqRead || p == Pattern::RandRead || p == Pattern::Fsync;
  if (auto s = prepare_test_file(*file, fill, ctx.stop); !s) return s.error();

  const size_t nbuf = is_random(p) ? static_cast<size_t>(d.qd) : 1;
  if (auto b = aligned_buffer(nbuf * d.bs, file->mem_align); b)
    buffers = std::move(*b);
  else
    return b.error();
  // Written data is random, so that compressing or deduplicating storage
  // cannot shortcut it.
  SplitMix64 rng(kSeed);
  if (is_write(p)) rng.fill(buffers.get(), nbuf * d.bs);

  Result<DiskTally> tally = make_error("not run");
  if (is_random(p)) {
    std::vector<IoSlot> slots(nbuf);
    for (size_t i = 0; i < nbuf; ++i) slots[i].buf = buffers.get() + i * d.bs;
    ctx.region_begin();
    tally = random_loop(ring, *file, is_write(p), slots, d.bs, rng, bounds);
    ctx.region_end();
  } else if (p == Pattern::Fsync) {
    ctx.region_begin();
    tally = fsync_loop(*file, buffers.get(), d.bs, bounds);
    ctx.region_end();
  } else {
    const bool write = p == Pattern::SeqWrite;
    ctx.region_begin();
    tally = sequential_loop(*file, write, write && !d.direct, buffers.get(), d.bs, bounds);
    ctx.region_end();
  }
  if (!tally) return tally.error();
  // A run cut short is not the measurement asked for.
  if (ctx.stopping()) return make_error("interrupted after {} I/Os", tally->ios);
  if (tally->ios == 0 || tally->elapsed_ns == 0) return make_error("no I/O completed");
  return tally;
}

namespace {

WorkloadFn run_pattern(Pattern p) {
  return [p](WorkloadContext& ctx) -> Result<WorkloadOutput> {
    auto t = measure(p, ctx);
    if (!t) return t.error();  // the sample names the workload already
    const double secs = static_cast<double>(t->elapsed_ns) / 1e9;
    WorkloadOutput out;
    if (p == Pattern::Fsync) {
      out.add("ops", static_cast<double>(t->ios) / secs, "ops/s", Better::Higher);
    } else {
      out.add("bandwidth", static_cast<double>(t->bytes) / secs / 1e6, "MB/s", Better::Higher);
      out.add("iops", static_cast<double>(t->ios) / secs, "IO/s", Better::Higher);
    }
    if (t->has_latency) out.add_latency("", std::move(t->latency));
    return out;
  };
}

std::vector<ParamSpec> common_params(const char* bs, const char* file_size, bool with_direct) {
  std::vector<ParamSpec> ps = {
      param("bs", ParamType::Size, bs, "block size of each I/O").range(1, static_cast<double>(kMaxBlockSize)),
      param("file_size", ParamType::Size, file_size,
            "size of the test file in the scratch directory (a multiple of bs)"),
      param("duration", ParamType::Duration, "5s", "measured time (also bounded by an I/O count)")
          .range(1e-3, kMaxDurationS),
  };
  if (with_direct)
    ps.push_back(param("direct", ParamType::Bool, "true",
                       "O_DIRECT: bypass the page cache (false measures through it; seqwrite then ends with "
                       "fdatasync inside the measured time)"));
  return ps;
}

}  // namespace

}  // namespace vbench::disk

namespace vbench {

void add_disk_workloads(std::vector<WorkloadDef>& out) {
  using disk::Pattern;
  auto def = [&](Pattern p, std::string description, std::vector<ParamSpec> params) {
    WorkloadDef w;
    w.name = fmt::format("disk.{}", disk::to_string(p));
    w.description = std::move(description);
    w.params = std::move(params);
    w.run = disk::run_pattern(p);
    w.needs_scratch = true;
    out.push_back(std::move(w));
  };
  def(Pattern::SeqRead, "sequential pread of a pre-written file, one I/O at a time: bandwidth, iops",
      disk::common_params("1MiB", "1GiB", true));
  def(Pattern::SeqWrite, "sequential pwrite into a preallocated file, one I/O at a time: bandwidth, iops",
      disk::common_params("1MiB", "1GiB", true));
  auto random_params = [](std::vector<ParamSpec> ps) {
    ps.insert(ps.begin() + 1, param("qd", ParamType::Int, "1", "I/Os kept in flight through io_uring")
                                  .range(1, static_cast<double>(disk::kMaxQueueDepth)));
    return ps;
  };
  def(Pattern::RandRead,
      "random reads of a pre-written file through io_uring, qd in flight: iops, bandwidth, per-I/O latency",
      random_params(disk::common_params("4k", "1GiB", true)));
  def(Pattern::RandWrite,
      "random writes into a preallocated file through io_uring, qd in flight: iops, bandwidth, per-I/O latency",
      random_params(disk::common_params("4k", "1GiB", true)));
  def(Pattern::Fsync, "pwrite of bs then fdatasync, sequentially over a pre-written file: ops/s, latency per pair",
      disk::common_params("4k", "16MiB", false));
}

}  // namespace vbench
