#pragma once
// `vbench run` killed with SIGKILL mid-run, then `vbench cleanup`: the part
// every "a killed run leaves nothing" test shares. (Its own header, not
// support.hpp: it needs the result model, which the other tests do not.)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "core/fs.hpp"
#include "model/results.hpp"
#include "support.hpp"

namespace vbtest {

struct KilledRun {
  std::string run_id;
  bool up = false;        // every environment had started and a sample was in
  std::string log;        // what the killed vbench printed
  std::string before;     // leftovers right after the kill
  CommandResult cleanup;  // `vbench cleanup`
  std::string after;      // leftovers after it ("" = nothing)
};

// Runs `vbench run --suite quick --env ENVS`, waits (at most 2 minutes)
// until every environment is up and a sample is in, lets it measure for
// `settle` more, kills it with SIGKILL, waits (at most 5 s) until
// `settled(run_id)` holds (helpers that die with vbench), then records
// `leftovers(run_id)`, runs `vbench cleanup` and records them again.
inline KilledRun kill_mid_run_then_cleanup(const std::string& envs, std::chrono::milliseconds settle,
                                           const std::function<std::string(const std::string&)>& leftovers,
                                           const std::function<bool(const std::string&)>& settled = {}) {
  KilledRun k;
  TempDir out;
  const std::string dir = out.path + "/r";
  const std::string log = out.path + "/log";
  const size_t n_envs = static_cast<size_t>(std::count(envs.begin(), envs.end(), ',')) + 1;
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!std::freopen(log.c_str(), "w", stdout) || !std::freopen(log.c_str(), "a", stderr)) _exit(126);
    ::execl(vbench_bin().c_str(), vbench_bin().c_str(), "run", "--suite", "quick", "--env", envs.c_str(), "--out",
            dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 1200 && !k.up; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto rs = vbench::load_results(dir + "/results.jsonl");
    if (!rs) continue;
    k.run_id = rs->meta.run_id;
    k.up = rs->envs.size() == n_envs && !rs->samples.empty();
  }
  if (k.up) std::this_thread::sleep_for(settle);
  ::kill(pid, SIGKILL);
  int status;
  ::waitpid(pid, &status, 0);
  if (auto text = vbench::read_file(log)) k.log = *text;
  if (!k.up || k.run_id.empty()) return k;
  if (settled)
    for (int i = 0; i < 50 && !settled(k.run_id); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  k.before = leftovers(k.run_id);
  k.cleanup = run_command(vbench_bin() + " cleanup");
  k.after = leftovers(k.run_id);
  return k;
}

}  // namespace vbtest
