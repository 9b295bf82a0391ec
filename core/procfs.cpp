#include "core/procfs.hpp"

#include <charconv>

namespace vbench {

Result<ProcStat> parse_proc_stat(std::string_view text) {
  const size_t close = text.rfind(')');
  if (close == std::string_view::npos) return make_error("/proc stat: no `)` after the command name");
  std::string_view rest = text.substr(close + 1);
  ProcStat st;
  for (int field = 3; field <= 22; ++field) {
    const size_t begin = rest.find_first_not_of(" \n");
    if (begin == std::string_view::npos) return make_error("/proc stat: {} fields, expected at least 22", field - 1);
    rest.remove_prefix(begin);
    const std::string_view f = rest.substr(0, rest.find_first_of(" \n"));
    rest.remove_prefix(f.size());
    if (field == 3) {
      if (f.size() != 1) return make_error("/proc stat: state `{}` is not one letter", f);
      st.state = f[0];
      continue;
    }
    uint64_t* dst = field == 14 ? &st.utime : field == 15 ? &st.stime : field == 22 ? &st.start_time : nullptr;
    if (!dst) continue;
    auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), *dst);
    if (ec != std::errc() || p != f.data() + f.size())
      return make_error("/proc stat: field {} `{}` is not a count", field, f);
  }
  return st;
}

}  // namespace vbench
