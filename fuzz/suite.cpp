// Suite files as `vbench run --suite FILE` loads them, with `include`s
// resolved from the file's folder, then --set and --env-set applied.
//
// Input: the suite's TOML text, optionally followed by a line "#--set" and
// lines "S WORKLOAD.PARAM=VALUE" (--set) or "E ENV.KNOB=VALUE" (--env-set).
// Beside the suite, in its folder: base.toml (a valid suite to include),
// loop.toml (includes the fuzzed file: a cycle) and bad.toml (not TOML).
#include "harness/suite.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core/fs.hpp"
#include "fuzz_support.hpp"

namespace {

std::string g_dir;

void remove_dir() { (void)vbench::remove_tree(g_dir); }

// The folder is removed when the fuzzer exits normally (after a crash it is
// left for the reproduction).
std::string make_dir() {
  char t[] = "/tmp/vbench-fuzz-suite-XXXXXX";
  if (!mkdtemp(t)) std::abort();
  std::string d = t;
  (void)vbench::write_file(d + "/base.toml",
                           "[suite]\nname = \"base\"\nrepetitions = 2\n[env.bare]\n[env.box]\nkind = \"container\"\n"
                           "cpus = 1.5\n[[workload]]\nname = \"cpu.int\"\nduration = \"100ms\"\n[[workload]]\n"
                           "name = \"mem.bandwidth\"\nsize = [\"1MiB\", \"2MiB\"]\n");
  (void)vbench::write_file(d + "/loop.toml", "[suite]\nname = \"loop\"\ninclude = \"fuzz.toml\"\n");
  (void)vbench::write_file(d + "/bad.toml", "[suite\nname = = 1\n");
  g_dir = d;
  std::atexit(remove_dir);
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = make_dir();
  const std::string input = vbfuzz::text(data, size);
  const size_t split = input.find("\n#--set\n");
  const std::string toml = input.substr(0, split);
  if (!vbench::write_file(dir + "/fuzz.toml", toml)) std::abort();
  auto suite = vbench::load_suite(dir + "/fuzz.toml");
  if (!suite) suite = vbench::load_suite("smoke");
  if (!suite) std::abort();  // the built-in suite always loads
  if (split == std::string::npos) return 0;
  std::istringstream lines(input.substr(split + 8));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() < 2) continue;
    if (line[0] == 'S') (void)vbench::apply_set(*suite, line.substr(2));
    if (line[0] == 'E') (void)vbench::apply_env_set(*suite, line.substr(2));
    if (line[0] == 'N') (void)vbench::add_env(*suite, line.substr(2));
  }
  (void)vbench::to_json(*suite);
  return 0;
}
