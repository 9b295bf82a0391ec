// The agent as the harness sees it: over a real socketpair, with garbage.
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drivers/agent_channel.hpp"
#include "support.hpp"

using namespace vbench;

namespace {

struct AgentProcess {
  pid_t pid = -1;
  int fd = -1;
  AgentProcess() {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    const std::string agent = vbtest::agent_bin();  // before fork: the child only execs
    pid = fork();
    if (pid == 0) {
      dup2(sv[1], 0);
      dup2(sv[1], 1);
      execl(agent.c_str(), agent.c_str(), "agent", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(sv[1]);
    fd = sv[0];
  }
  ~AgentProcess() {
    close(fd);
    int st;
    waitpid(pid, &st, 0);
  }
};

std::string read_reply(int fd) {
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

}  // namespace

TEST_CASE("agent answers garbage with an error and keeps serving", "[agent]") {
  AgentProcess a;
  const std::string junk = "this is not json\n{\"op\": 5}\n[1,2,3]\n{\"op\":\"launch-missiles\",\"id\":9}\n";
  REQUIRE(write(a.fd, junk.data(), junk.size()) == static_cast<ssize_t>(junk.size()));
  for (int i = 0; i < 4; ++i) {
    auto j = nlohmann::json::parse(read_reply(a.fd), nullptr, false);
    REQUIRE(j.is_object());
    CHECK(j["ok"] == false);
    CHECK(j["error"].get<std::string>().size() > 5);
  }
  // Still alive and well.
  AgentChannel ch{UniqueFd(dup(a.fd))};
  auto hello = ch.hello(10);
  REQUIRE(hello.ok());
  CHECK((*hello)["pid"].get<int>() == a.pid);
  // A request for an unknown workload is a failed sample, not a dead agent.
  WorkloadRequest req;
  req.workload = "no.such";
  auto s = ch.run(req, "", "");
  REQUIRE(s.ok());
  CHECK_FALSE(s->ok);
  CHECK(s->error.find("unknown workload") != std::string::npos);
  CHECK(ch.shutdown(10).ok());
}

TEST_CASE("agent survives an over-long line", "[agent]") {
  AgentProcess a;
  std::string big(17 * 1024 * 1024, 'x');
  big += "\n";
  // Write from a child: the agent answers while we are still writing.
  pid_t w = fork();
  if (w == 0) {
    size_t off = 0;
    while (off < big.size()) {
      ssize_t n = write(a.fd, big.data() + off, big.size() - off);
      if (n <= 0) _exit(1);
      off += static_cast<size_t>(n);
    }
    _exit(0);
  }
  auto j = nlohmann::json::parse(read_reply(a.fd), nullptr, false);
  int st;
  waitpid(w, &st, 0);
  REQUIRE(j.is_object());
  CHECK(j["ok"] == false);
  AgentChannel ch{UniqueFd(dup(a.fd))};
  CHECK(ch.hello(10).ok());
}

TEST_CASE("vbench-agent run by hand prints a JSON sample", "[agent]") {
  auto r = vbtest::run_command(vbtest::agent_bin() + " run os.syscall --param duration=0.1 --json");
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["ok"] == true);
  CHECK(j["metrics"][0]["name"] == "ns_per_call");
  auto bad = vbtest::run_command(vbtest::agent_bin() + " run os.syscall --param nope=1");
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.find("nope") != std::string::npos);
}
