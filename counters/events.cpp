#include "counters/events.hpp"

// libpfm4's header brings its own copy of perf_event.h unless the kernel's
// was included first (it is, via events.hpp).
#include <perfmon/pfmlib_perf_event.h>

#include <cstdlib>
#include <mutex>
#include <set>

namespace vbench {
namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// libpfm4 is initialized once per process; the result is kept so that every
// later resolution reports the same failure.
int pfm_init_status() {
  static std::once_flag once;
  static int rc = PFM_SUCCESS;
  std::call_once(once, [] { rc = pfm_initialize(); });
  return rc;
}

// libpfm4 keeps no per-call state we know to be thread-safe; resolution is
// rare (at create time), so one lock costs nothing.
std::mutex& pfm_mutex() {
  static std::mutex m;
  return m;
}

// perf software events that libpfm4 4.13 does not list (its "perf" PMU has
// the common ones: task-clock, page-faults, context-switches, ...).
struct SoftwareEvent {
  const char* name;
  uint64_t config;
};
constexpr SoftwareEvent kExtraSoftwareEvents[] = {
    {"alignment-faults", PERF_COUNT_SW_ALIGNMENT_FAULTS},
    {"emulation-faults", PERF_COUNT_SW_EMULATION_FAULTS},
    {"cgroup-switches", PERF_COUNT_SW_CGROUP_SWITCHES},
};

enum class Lookup { Found, NotFound, BadAttribute, Failed };

struct Encoded {
  Lookup lookup = Lookup::Failed;
  perf_event_attr attr{};
  std::string encoding;
  std::string message;  // libpfm4's, when not found
};

Encoded encode_with_libpfm(const std::string& name) {
  Encoded out;
  if (int rc = pfm_init_status(); rc != PFM_SUCCESS) {
    out.message = fmt::format("libpfm4 could not initialize: {}", pfm_strerror(rc));
    return out;
  }
  std::lock_guard lock(pfm_mutex());
  pfm_perf_encode_arg_t arg{};
  char* fstr = nullptr;
  arg.attr = &out.attr;
  arg.fstr = &fstr;
  arg.size = sizeof arg;
  // Count user and kernel level, as `perf stat -e NAME` does by default.
  int rc = pfm_get_os_event_encoding(name.c_str(), PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg);
  if (fstr) {
    out.encoding = fstr;
    std::free(fstr);
  }
  if (rc == PFM_SUCCESS) {
    out.lookup = Lookup::Found;
    out.attr.size = sizeof out.attr;
    return out;
  }
  out.message = pfm_strerror(rc);
  out.lookup = rc == PFM_ERR_NOTFOUND                                                  ? Lookup::NotFound
               : (rc == PFM_ERR_ATTR || rc == PFM_ERR_ATTR_VAL || rc == PFM_ERR_UMASK) ? Lookup::BadAttribute
                                                                                       : Lookup::Failed;
  return out;
}

Encoded encode_base(const std::string& name) {
  Encoded e = encode_with_libpfm(name);
  if (e.lookup != Lookup::NotFound) return e;
  for (const auto& sw : kExtraSoftwareEvents) {
    if (name != sw.name) continue;
    Encoded s;
    s.lookup = Lookup::Found;
    s.attr.size = sizeof s.attr;
    s.attr.type = PERF_TYPE_SOFTWARE;
    s.attr.config = sw.config;
    s.attr.exclude_hv = 1;
    s.encoding = fmt::format("perf software event {}", sw.config);
    return s;
  }
  return e;
}

// perf's modifier suffix (`cycles:u`, `instructions:kG`), when libpfm4 did
// not take it as one of its own attributes: the letters perf documents for
// privilege level and guest/host.
bool split_perf_modifiers(const std::string& name, std::string* base, std::string* mods) {
  auto colon = name.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == name.size()) return false;
  std::string m = name.substr(colon + 1);
  if (m.find_first_not_of("ukhGH") != std::string::npos) return false;
  *base = name.substr(0, colon);
  *mods = m;
  return true;
}

void apply_perf_modifiers(const std::string& mods, perf_event_attr* attr) {
  auto has = [&](char c) { return mods.find(c) != std::string::npos; };
  if (has('u') || has('k') || has('h')) {
    attr->exclude_user = !has('u');
    attr->exclude_kernel = !has('k');
    attr->exclude_hv = !has('h');
  }
  if (has('G') || has('H')) {
    attr->exclude_guest = !has('G');
    attr->exclude_host = !has('H');
  }
}

}  // namespace

const std::vector<std::string>& default_counter_names() {
  static const std::vector<std::string> names = {
      "task-clock", "context-switches", "cpu-migrations",   "page-faults",  "cycles",          "instructions",
      "branches",   "branch-misses",    "cache-references", "cache-misses", "dTLB-load-misses"};
  return names;
}

std::vector<std::string> expand_counter_names(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& n) {
    if (!n.empty() && seen.insert(n).second) out.push_back(n);
  };
  for (const auto& raw : names) {
    std::string n = trim(raw);
    if (n == "default")
      for (const auto& d : default_counter_names()) add(d);
    else
      add(n);
  }
  return out;
}

Result<EventSpec> resolve_event(const std::string& name) {
  EventSpec spec;
  spec.name = name;
  Encoded e = encode_base(name);
  std::string base, mods;
  if (e.lookup != Lookup::Found && split_perf_modifiers(name, &base, &mods)) {
    Encoded b = encode_base(base);
    if (b.lookup == Lookup::Found) {
      apply_perf_modifiers(mods, &b.attr);
      b.encoding += " with perf modifiers :" + mods;
      e = std::move(b);
    }
  }
  switch (e.lookup) {
    case Lookup::Found:
      spec.attr = e.attr;
      spec.encoding = std::move(e.encoding);
      return spec;
    case Lookup::NotFound:
      return make_error(
          "unknown counter event `{}`: libpfm4 knows no such event on this CPU (use perf's names, e.g. "
          "`cycles`, `page-faults`, `dTLB-load-misses`, or a PMU event listed by `vbench list --counters`)",
          name);
    case Lookup::BadAttribute:
      return make_error("counter event `{}`: {} (libpfm4)", name, e.message);
    case Lookup::Failed:
      break;
  }
  return make_error("counter event `{}`: {}", name, e.message);
}

Result<std::vector<EventSpec>> resolve_events(const std::vector<std::string>& names) {
  std::vector<EventSpec> out;
  for (const auto& n : expand_counter_names(names)) {
    auto e = resolve_event(n);
    if (!e) return e.error();
    out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace vbench
