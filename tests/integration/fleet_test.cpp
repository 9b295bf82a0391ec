// `vbench fleet run` on a fleet of "hosts" made on this machine: network
// namespaces on one bridge (198.18.0.0/15), each with its own sshd and a
// throwaway key, each with its own install directory (so a missing copy step
// fails the run). One host's sshd is killed mid-run: it must be reported
// failed while the others' results are kept, and a second `fleet run` must
// run only that host. The test asserts no performance value: these hosts
// share one CPU pair, one kernel and one clock.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "chromium.hpp"
#include "core/fs.hpp"
#include "model/results.hpp"
#include "support.hpp"

using namespace vbtest;
namespace fs = std::filesystem;

namespace {

std::string program(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"})
    if (access((std::string(dir) + name).c_str(), X_OK) == 0) return std::string(dir) + name;
  return "";
}

std::vector<pid_t> netns_pids(const std::string& ns, const std::string& comm) {
  std::vector<pid_t> out;
  auto r = run_command("ip netns pids " + ns);
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t end = r.out.find('\n', pos);
    if (end == std::string::npos) end = r.out.size();
    const std::string line = r.out.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line.find_first_not_of("0123456789") != std::string::npos) continue;
    auto c = vbench::read_line("/proc/" + line + "/comm");
    if (comm.empty() || (c.ok() && *c == comm)) out.push_back(static_cast<pid_t>(std::stol(line)));
  }
  return out;
}

// Hosts h1..hN: namespace, veth to a bridge in the root namespace, sshd.
struct FleetLab {
  std::string tag;  // short and unique: interface names have 15 characters
  std::string dir;
  std::string subnet;  // "198.18.A."
  std::string bridge;
  int hosts = 0;
  std::string error;

  explicit FleetLab(int n) : hosts(n) {
    const int id = static_cast<int>(getpid() % 40);
    tag = "vbfl" + std::to_string(getpid() % 100000);
    subnet = "198.18." + std::to_string(210 + id) + ".";
    bridge = tag + "b";
    char t[] = "/tmp/vbench-fleet-XXXXXX";
    dir = mkdtemp(t);
    (void)vbench::mkdir_p("/run/sshd");  // sshd's privilege separation directory
    std::vector<std::string> cmds = {
        "ssh-keygen -q -t ed25519 -N '' -f " + dir + "/hostkey",
        "ssh-keygen -q -t ed25519 -N '' -f " + dir + "/clientkey",
        "cp " + dir + "/clientkey.pub " + dir + "/authorized_keys",
        "ip link add " + bridge + " type bridge",
        "ip addr add " + subnet + "1/24 dev " + bridge,
        "ip link set " + bridge + " up",
    };
    for (int h = 1; h <= n; ++h) {
      const std::string ns = netns(h), veth = tag + "h" + std::to_string(h);
      cmds.push_back("ip netns add " + ns);
      cmds.push_back("ip link add " + veth + " type veth peer name eth0 netns " + ns);
      cmds.push_back("ip link set " + veth + " master " + bridge + " up");
      cmds.push_back("ip -n " + ns + " addr add " + address(h) + "/24 dev eth0");
      cmds.push_back("ip -n " + ns + " link set eth0 up");
      cmds.push_back("ip -n " + ns + " link set lo up");
    }
    for (const auto& c : cmds) {
      auto r = run_command(c);
      if (r.exit_code != 0) {
        error = c + ": " + r.out;
        return;
      }
    }
    for (int h = 1; h <= n; ++h) {
      std::ofstream(dir + "/sshd-" + std::to_string(h) + ".conf")
          << "ListenAddress " << address(h) << "\nHostKey " << dir << "/hostkey\nAuthorizedKeysFile " << dir
          << "/authorized_keys\nPermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
          << "Subsystem sftp internal-sftp\nPidFile " << dir << "/sshd-" << h << ".pid\n";
      if (auto s = start_sshd(h); !s.empty()) {
        error = s;
        return;
      }
    }
  }

  ~FleetLab() {
    for (int h = 1; h <= hosts; ++h) {
      // Whatever still runs in a host (an orphaned remote run) ends with it.
      for (pid_t p : netns_pids(netns(h), "")) kill(p, SIGKILL);
      run_command("ip netns del " + netns(h));
    }
    run_command("ip link del " + bridge);
    run_command("rm -rf '" + dir + "'");
  }

  std::string netns(int h) const { return tag + "-h" + std::to_string(h); }
  std::string address(int h) const { return subnet + std::to_string(h + 1); }
  std::string install_dir(int h) const { return dir + "/install-h" + std::to_string(h); }

  std::string start_sshd(int h) const {
    auto r = run_command("ip netns exec " + netns(h) + " " + program("sshd") + " -f " + dir + "/sshd-" +
                         std::to_string(h) + ".conf -E " + dir + "/sshd-" + std::to_string(h) + ".log");
    if (r.exit_code != 0) return "sshd: " + r.out;
    // Ready when the port answers.
    for (int i = 0; i < 100; ++i) {
      if (run_command("timeout 1 bash -c '</dev/tcp/" + address(h) + "/22'").exit_code == 0) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "sshd on " + address(h) + " did not start listening";
  }

  // Every sshd of host h, the listener and the sessions: the host drops off
  // the network as far as Ansible can tell.
  void kill_sshd(int h) const {
    for (pid_t p : netns_pids(netns(h), "sshd")) kill(p, SIGKILL);
  }

  std::string write_inventory() const {
    std::ofstream f(dir + "/hosts.ini");
    f << "[bench]\n";
    for (int h = 1; h <= hosts; ++h)
      f << "h" << h << " ansible_host=" << address(h) << " vbench_install_dir=" << install_dir(h) << "\n";
    f << "\n[bench:vars]\nansible_user=root\nansible_ssh_private_key_file=" << dir
      << "/clientkey\nansible_ssh_common_args=-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n"
         "ansible_python_interpreter=/usr/bin/python3\n";
    return dir + "/hosts.ini";
  }
};

nlohmann::json read_json(const std::string& path) {
  auto t = vbench::read_file(path);
  return t.ok() ? nlohmann::json::parse(*t, nullptr, false) : nlohmann::json();
}

std::set<std::string> csv_hosts(const std::string& csv) {
  std::set<std::string> out;
  size_t pos = csv.find('\n') + 1;
  while (pos < csv.size()) {
    size_t end = csv.find('\n', pos);
    if (end == std::string::npos) end = csv.size();
    out.insert(csv.substr(pos, csv.find(',', pos) - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("fleet run over SSH: a host lost mid-run is reported, the rest kept, a re-run runs only it",
          "[fleet][ansible]") {
  if (geteuid() != 0) VB_SKIP("needs root for network namespaces and sshd");
  for (const char* p : {"ansible-playbook", "ansible-inventory", "sshd", "ssh-keygen"})
    if (program(p).empty()) VB_SKIP(std::string(p) + " not installed (ansible, openssh-server: see ci/bootstrap)");
  FleetLab lab(3);
  INFO(lab.error);
  REQUIRE(lab.error.empty());
  const std::string inventory = lab.write_inventory();
  const std::string out = lab.dir + "/fleet";
  const std::string db = lab.dir + "/history.db";
  const std::string cmd = "timeout 900 " + vbench_bin() + " fleet run --inventory " + inventory + " --out " + out +
                          " --suite smoke --env bare --record --db " + db;

  // First attempt, in the background; h2 loses its SSH server once its run has begun.
  CommandResult first;
  std::thread runner([&] { first = run_command(cmd); });
  bool killed = false;
  for (int i = 0; i < 1200 && !killed; ++i) {
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(lab.install_dir(2), ec))
      if (e.path().filename() == "results.jsonl") killed = true;
    if (!killed) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (killed) lab.kill_sshd(2);
  runner.join();
  INFO(first.out);
  REQUIRE(killed);
  CHECK(first.exit_code == 1);
  CHECK(first.out.find("running: ") != std::string::npos);  // it says what it runs
  CHECK(vbench::path_exists(out + "/hosts/h1/results.json"));
  CHECK(vbench::path_exists(out + "/hosts/h3/results.json"));
  CHECK_FALSE(vbench::path_exists(out + "/hosts/h2/results.json"));
  auto meta = read_json(out + "/fleet.json");
  REQUIRE(meta.is_object());
  CHECK(meta["hosts"]["h2"]["status"] == "failed");
  CHECK_FALSE(meta["hosts"]["h2"].value("error", "").empty());
  CHECK(meta["hosts"]["h1"]["status"] == "ok");
  // The failure is listed, never hidden: in the output and in the report.
  CHECK(first.out.find("h2") != std::string::npos);
  auto html = vbench::read_file(out + "/report.html");
  REQUIRE(html.ok());
  CHECK(html->find("id=\"failed-hosts\"") != std::string::npos);
  CHECK(csv_hosts(vbench::read_file(out + "/results.csv").value()) == std::set<std::string>{"h1", "h3"});
  // Each host ran the binaries copied to its own install directory.
  for (int h : {1, 3}) {
    CHECK(vbench::path_exists(lab.install_dir(h) + "/vbench"));
    CHECK(vbench::path_exists(lab.install_dir(h) + "/vbench-agent"));
  }

  // The orphaned run on h2 goes on without its SSH session; let it end.
  for (int i = 0; i < 600 && !netns_pids(lab.netns(2), "vbench").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  REQUIRE(lab.start_sshd(2).empty());

  const auto h1_run = read_json(out + "/hosts/h1/results.json")["run"]["run_id"];
  struct stat before {};
  REQUIRE(stat((out + "/hosts/h1/results.json").c_str(), &before) == 0);
  auto second = run_command(cmd);
  INFO(second.out);
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("2 complete, skipped") != std::string::npos);
  meta = read_json(out + "/fleet.json");
  CHECK(meta["hosts"]["h1"]["status"] == "complete");
  CHECK(meta["hosts"]["h3"]["status"] == "complete");
  CHECK(meta["hosts"]["h2"]["status"] == "ok");
  CHECK(meta["attempts"] == 2);
  struct stat after {};
  REQUIRE(stat((out + "/hosts/h1/results.json").c_str(), &after) == 0);
  CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
  CHECK(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
  CHECK(read_json(out + "/hosts/h1/results.json")["run"]["run_id"] == h1_run);
  CHECK(csv_hosts(vbench::read_file(out + "/results.csv").value()) == std::set<std::string>{"h1", "h2", "h3"});

  // The controller alone recorded each host's run once.
  auto hist = run_command(vbench_bin() + " history list --json --db " + db);
  auto runs = nlohmann::json::parse(hist.out, nullptr, false);
  INFO(hist.out);
  REQUIRE(runs.is_array());
  CHECK(runs.size() == 3);

  // The report is a function of the fleet directory alone.
  html = vbench::read_file(out + "/report.html");
  REQUIRE(html.ok());
  REQUIRE(run_command(vbench_bin() + " report " + out + " -o " + out + "/rebuilt.html").exit_code == 0);
  CHECK(vbench::read_file(out + "/rebuilt.html").value() == *html);
  // Three run directories given one by one make the same hosts (labelled by
  // their host name, here the same machine, so kept apart by path).
  auto by_dirs = run_command(vbench_bin() + " report " + out + "/hosts/h1 " + out + "/hosts/h2 " + out +
                             "/hosts/h3 -o " + out + "/dirs.csv");
  INFO(by_dirs.out);
  CHECK(by_dirs.exit_code == 0);
  CHECK(csv_hosts(vbench::read_file(out + "/dirs.csv").value()).size() == 3);

  if (chromium_path().empty()) {
    WARN("chromium not installed: the fleet report was not looked at in a browser");
    return;
  }
  Chromium c;
  INFO(c.error());
  REQUIRE(c.ok());
  const std::string url = file_url(out + "/report.html");
  REQUIRE(c.open(url, 1280, 900));
  check_quiet(c, url);
  for (const char* id : {"findings", "provenance", "warnings"}) {
    INFO(id);
    CHECK(c.eval(std::string("!!document.getElementById('") + id + "')") == true);
  }
  CHECK(c.eval("document.querySelectorAll('#provenance thead th').length").get<int>() == 4);
  CHECK(c.eval("document.querySelector('#provenance').textContent.includes('h2')") == true);
  const std::string png = c.screenshot(1280, 1600);
  const std::string shot = artifacts_dir("fleet") + "/report.png";
  REQUIRE(vbench::mkdir_p(artifacts_dir("fleet")).ok());
  REQUIRE(vbench::write_file(shot, png).ok());
  CHECK(png.size() > 20000);
  CHECK(be32(png, 16) == 1280);
  WARN("screenshot: " << shot);
}
