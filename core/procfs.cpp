#include "core/procfs.hpp"

#include <charconv>

#include "core/fs.hpp"

namespace vbench {

Result<ProcStat> parse_proc_stat(std::string_view text) {
  const size_t close = text.rfind(')');
  if (close == std::string_view::npos) return make_error("/proc stat: no `)` after the command name");
  std::string_view rest = text.substr(close + 1);
  ProcStat st;
  for (int field = 3; field <= 43; ++field) {
    const size_t begin = rest.find_first_not_of(" \n");
    if (begin == std::string_view::npos) {
      // Fields past 22 are newer than some kernels (guest_time: 2.6.24).
      if (field > 22) break;
      return make_error("/proc stat: {} fields, expected at least 22", field - 1);
    }
    rest.remove_prefix(begin);
    const std::string_view f = rest.substr(0, rest.find_first_of(" \n"));
    rest.remove_prefix(f.size());
    if (field == 3) {
      if (f.size() != 1) return make_error("/proc stat: state `{}` is not one letter", f);
      st.state = f[0];
      continue;
    }
    uint64_t* dst = nullptr;
    switch (field) {
      case 4: {
        auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), st.ppid);
        if (ec != std::errc() || p != f.data() + f.size())
          return make_error("/proc stat: field 4 `{}` is not a pid", f);
        continue;
      }
      case 14:
        dst = &st.utime;
        break;
      case 15:
        dst = &st.stime;
        break;
      case 16:
        dst = &st.cutime;
        break;
      case 17:
        dst = &st.cstime;
        break;
      case 22:
        dst = &st.start_time;
        break;
      case 43:
        dst = &st.guest_time;
        break;
      default:
        continue;
    }
    auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), *dst);
    if (ec != std::errc() || p != f.data() + f.size())
      return make_error("/proc stat: field {} `{}` is not a count", field, f);
  }
  return st;
}

Result<ProcStat> read_proc_stat(pid_t pid, const std::string& proc) {
  const std::string path = fmt::format("{}/{}/stat", proc, pid);
  // About 300 bytes; the command name is at most 64.
  auto text = read_file(path, 1 << 16);
  if (!text) return text.error();
  auto st = parse_proc_stat(*text);
  if (!st) return st.error().context(path);
  return st;
}

Result<uint64_t> parse_softirq_ticks(std::string_view text, const std::vector<int>& cpus) {
  // "cpu  user nice system idle iowait irq softirq ...", then "cpu0 ...", "cpu1 ...".
  std::vector<bool> seen(cpus.size(), false);
  uint64_t total = 0;
  bool any = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.starts_with("cpu")) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    const std::string_view name = line.substr(3, sp - 3);
    size_t idx = cpus.size();
    if (name.empty()) {
      if (!cpus.empty()) continue;
    } else {
      int cpu = -1;
      auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), cpu);
      if (ec != std::errc() || p != name.data() + name.size()) continue;
      for (idx = 0; idx < cpus.size() && cpus[idx] != cpu; ++idx) {
      }
      if (idx == cpus.size()) continue;
    }
    std::string_view rest = line.substr(sp);
    uint64_t softirq = 0;
    for (int field = 1; field <= 7; ++field) {
      const size_t begin = rest.find_first_not_of(' ');
      if (begin == std::string_view::npos)
        return make_error("/proc/stat: `{}` has {} fields, expected 7 or more", line.substr(0, sp), field - 1);
      rest.remove_prefix(begin);
      const std::string_view f = rest.substr(0, rest.find(' '));
      rest.remove_prefix(f.size());
      if (field != 7) continue;
      auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), softirq);
      if (ec != std::errc() || p != f.data() + f.size())
        return make_error("/proc/stat: softirq `{}` of `{}` is not a count", f, line.substr(0, sp));
    }
    total += softirq;
    any = true;
    if (idx < cpus.size()) seen[idx] = true;
  }
  for (size_t i = 0; i < cpus.size(); ++i)
    if (!seen[i]) return make_error("/proc/stat: no line for cpu{}", cpus[i]);
  if (!any) return make_error("/proc/stat: no `cpu` line");
  return total;
}

Result<uint64_t> parse_busy_ticks(std::string_view text) {
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.starts_with("cpu ")) continue;
    std::string_view rest = line.substr(3);
    uint64_t busy = 0;
    for (int field = 1; field <= 7; ++field) {
      const size_t begin = rest.find_first_not_of(' ');
      if (begin == std::string_view::npos)
        return make_error("/proc/stat: the `cpu` line has {} fields, expected 7 or more", field - 1);
      rest.remove_prefix(begin);
      const std::string_view f = rest.substr(0, rest.find(' '));
      rest.remove_prefix(f.size());
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
      if (ec != std::errc() || p != f.data() + f.size())
        return make_error("/proc/stat: field {} `{}` of the `cpu` line is not a count", field, f);
      if (field != 4 && field != 5) busy += v;  // not idle, not iowait
    }
    return busy;
  }
  return make_error("/proc/stat: no `cpu` line");
}

}  // namespace vbench
