// Side by side with `perf stat`: the counts vbench takes around a workload's
// measured region match what perf stat counts over the whole agent process
// for the same invocation, within 2%. Each workload is chosen so that its
// measured region is nearly all the process does for that event (a long
// region, and for context switches a peer outside the process), so that the
// agent's start-up and set-up stay far below 2%.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/fs.hpp"
#include "support.hpp"

using namespace vbtest;

namespace {

// perf stat -x, lines: "VALUE,UNIT,EVENT,RUN_TIME,PCT,..."; task-clock in msec.
double perf_value(const std::string& csv, const std::string& event) {
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream ls(line);
    for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
    if (f.size() < 3 || f[2] != event) continue;
    INFO("perf stat line: " << line);
    REQUIRE_FALSE(f[0].empty());
    REQUIRE(f[0] != "<not supported>");
    const double v = std::stod(f[0]);
    return f[1] == "msec" ? v * 1e6 : v;  // vbench keeps task-clock in ns
  }
  FAIL("perf stat printed no line for " << event << ":\n" << csv);
  return 0;
}

double agent_value(const nlohmann::json& sample, const std::string& event) {
  for (const auto& c : sample["counters"])
    if (c["name"] == event && c["scope"] == "agent") {
      INFO(event << ": " << c.dump());
      REQUIRE(c["status"] == "ok");
      return c["value"].get<double>();
    }
  FAIL("the agent's sample has no counter " << event);
  return 0;
}

struct Peer {
  pid_t pid = -1;
  std::string addr;
  explicit Peer(const std::string& dir) {
    const std::string ready = dir + "/peer.addr";
    pid = fork();
    if (pid == 0) {
      execl(agent_bin().c_str(), agent_bin().c_str(), "serve", "--listen", "127.0.0.1:0", "--ready-file", ready.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 500 && addr.empty(); ++i) {
      usleep(10000);
      if (auto a = vbench::read_file(ready)) {
        addr = *a;
        while (!addr.empty() && (addr.back() == '\n' || addr.back() == ' ')) addr.pop_back();
      }
    }
  }
  ~Peer() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
};

}  // namespace

TEST_CASE("counts match perf stat on the same agent invocation within 2%", "[counters][perf]") {
  if (run_command("perf --version").exit_code != 0) VB_SKIP("perf (linux-perf) is not installed");
  if (run_command("perf stat -e task-clock true").exit_code != 0) VB_SKIP("perf stat cannot count task-clock here");
  TempDir dir;
  Peer peer(dir.path);
  REQUIRE_FALSE(peer.addr.empty());

  struct Case {
    std::string event, workload, args;
  };
  const Case cases[] = {
      // 65536 fresh pages in the region; the process's own start-up faults are a few hundred.
      {"page-faults", "mem.pagefault", "--param size=256MiB"},
      // One second of CPU in the region; start-up is milliseconds.
      {"task-clock", "cpu.int", "--param duration=1s"},
      // One switch per transaction while waiting for the reply; the peer is
      // another process, outside what perf stat counts.
      {"context-switches", "net.tcp_rr", "--param duration=1s --peer " + peer.addr},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.event << " of " << c.workload) {
      const std::string perf_out = dir.path + "/perf.csv", sample = dir.path + "/sample.json";
      const std::string cmd = "perf stat -x, -o " + perf_out + " -e " + c.event + " -- " + agent_bin() + " run " +
                              c.workload + " " + c.args + " --counters " + c.event + " --json > " + sample;
      auto r = run_command(cmd);
      INFO(cmd << "\n" << r.out);
      REQUIRE(r.exit_code == 0);
      auto text = vbench::read_file(sample);
      REQUIRE(text);
      auto j = nlohmann::json::parse(*text);
      auto perf_csv = vbench::read_file(perf_out);
      REQUIRE(perf_csv);
      const double ours = agent_value(j, c.event);
      const double theirs = perf_value(*perf_csv, c.event);
      INFO(c.event << ": vbench " << ours << ", perf stat " << theirs);
      REQUIRE(theirs > 0);
      CHECK(std::abs(ours - theirs) / theirs <= 0.02);
    }
  }
}
