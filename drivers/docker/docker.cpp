#include "drivers/docker/docker.hpp"

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <mutex>

#include "core/choice.hpp"
#include "core/clock.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
#include "core/resolve.hpp"
#include "core/runstate.hpp"
#include "core/sha256.hpp"
#include "core/units.hpp"
#include "drivers/agent_channel.hpp"
#include "drivers/container/cgroup.hpp"
#include "drivers/container/state.hpp"
#include "drivers/cpu_accounting.hpp"
#include "drivers/docker/http_unix.hpp"
#include "drivers/docker/podman_service.hpp"
#include "drivers/docker/tar.hpp"
#include "drivers/kvm/host_command.hpp"
#include "workloads/net_peer.hpp"

namespace vbench {
namespace {

constexpr const char* kApi = "/v1.41";  // Docker 20.10's API; later daemons accept it too
constexpr const char* kCtlInContainer = "/vbench-ctl";
constexpr const char* kAgentPath = "/vbench-agent";
constexpr const char* kScratch = "/scratch";
constexpr const char* kOwnerLabel = "vbench.owner";  // "<pid> <start time>" of the vbench that made it
constexpr const char* kRunLabel = "vbench.run_id";
constexpr uint64_t kMinMemory = 16ull << 20;

enum class Storage { Bind, Volume, Overlay };
constexpr Choices<Storage, 3> kStorages{
    {{"bind", Storage::Bind}, {"volume", Storage::Volume}, {"overlay", Storage::Overlay}}};
// The names are the values of HostConfig.NetworkMode the Engine API takes.
enum class Network { Bridge, Host, None };
constexpr Choices<Network, 3> kNetworks{
    {{"bridge", Network::Bridge}, {"host", Network::Host}, {"none", Network::None}}};
enum class Seccomp { Default, Unconfined };
constexpr Choices<Seccomp, 2> kSeccomps{{{"default", Seccomp::Default}, {"unconfined", Seccomp::Unconfined}}};
std::string to_string(Network n) { return std::string(name_of(kNetworks, n)); }
std::string to_string(Seccomp s) { return std::string(name_of(kSeccomps, s)); }
std::string to_string(Storage s) { return std::string(name_of(kStorages, s)); }

struct DockerConfig {
  Network network = Network::Bridge;
  std::string runtime;  // "" = the daemon's default
  Seccomp seccomp = Seccomp::Default;
  double cpus = 0;
  std::string cpuset;
  uint64_t memory = 0;
  Storage storage = Storage::Bind;
  bool keep_image = false;
};

const char* kind_name(Engine e) { return e == Engine::Podman ? "podman" : "docker"; }

Result<DockerConfig> resolve_config(Engine engine, const std::vector<ParamSpec>& specs, const EnvSpec& env) {
  auto knobs = resolve_knobs(kind_name(engine), specs, env.knobs);
  if (!knobs) return knobs.error();
  auto& j = *knobs;
  DockerConfig c;
  for (const Status& s : {choose_into(c.network, kNetworks, "network", j["network"]),
                          choose_into(c.seccomp, kSeccomps, "seccomp", j["seccomp"]),
                          choose_into(c.storage, kStorages, "storage", j["storage"])})
    if (!s) return s.error();
  c.runtime = j["runtime"].get<std::string>();
  c.cpus = j["cpus"].get<double>();
  if (c.cpus < 0) return make_error("cpus must be >= 0 (0 = no limit), not {}", c.cpus);
  c.cpuset = j["cpuset"].get<std::string>();
  c.memory = j["memory"].get<uint64_t>();
  if (c.memory > 0 && c.memory < kMinMemory)
    return make_error("memory = {} is below what the agent itself needs ({})", format_size(c.memory),
                      format_size(kMinMemory));
  c.keep_image = j["keep_image"].get<bool>();
  return c;
}

// Docker names: lower case, [a-z0-9_.-].
std::string docker_name(const std::string& s) {
  std::string out;
  for (char c : s) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (std::isalnum(static_cast<unsigned char>(l)) || l == '-' || l == '_' || l == '.') ? l : '_';
  }
  return out;
}

std::string self_owner() {
  auto self = process_identity(::getpid());
  return self ? to_string(*self) : "";
}

// Each line of a JSON progress stream (images/create, images/load) that
// is a JSON object, in order; other lines are skipped.
template <typename F>
void for_each_stream_object(const std::string& body, F f) {
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string::npos) nl = body.size();
    auto j = parse_json(std::string_view(body).substr(pos, nl - pos));
    pos = nl + 1;
    if (j && j->is_object()) f(*j);
  }
}

// The error line a JSON progress stream ends with, if any.
std::string stream_error(const std::string& body) {
  std::string error;
  for_each_stream_object(body, [&](const nlohmann::json& j) {
    if (error.empty() && j.contains("error") && j["error"].is_string()) error = j["error"].get<std::string>();
  });
  return error;
}

// The image id an import stream reports ({"status":"sha256:..."}), if any.
std::string imported_id(const std::string& body) {
  std::string id;
  for_each_stream_object(body, [&](const nlohmann::json& j) {
    if (!j.contains("status") || !j["status"].is_string()) return;
    const std::string& st = j["status"].get_ref<const std::string&>();
    if (st.rfind("sha256:", 0) == 0 && st.size() == 71) id = st;
  });
  return id;
}

// The agent gets the limits vbench has on bare metal, in every engine: a
// daemon's defaults differ (dockerd passes its own, often unlimited; podman
// asks for nofile 1048576), and raising a hard limit needs
// CAP_SYS_RESOURCE, which a host may withhold (then crun and runc fail with
// "setrlimit RLIMIT_NOFILE: Operation not permitted"). Where the engine's
// own process is known (podman's service, which lowers its RLIMIT_NPROC),
// no limit is above what it holds itself, for the same reason.
nlohmann::json bare_ulimits(pid_t engine = 0) {
  nlohmann::json out = nlohmann::json::array();
  const std::pair<const char*, __rlimit_resource> limits[] = {{"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC}};
  for (const auto& [name, res] : limits) {
    rlimit rl{}, theirs{};
    if (::getrlimit(res, &rl) != 0) continue;
    if (engine > 0 && ::prlimit(engine, res, nullptr, &theirs) == 0) {
      rl.rlim_cur = std::min(rl.rlim_cur, theirs.rlim_cur);
      rl.rlim_max = std::min(rl.rlim_max, theirs.rlim_max);
      rl.rlim_cur = std::min(rl.rlim_cur, rl.rlim_max);
    }
    if (rl.rlim_max == RLIM_INFINITY) continue;
    const auto soft = rl.rlim_cur == RLIM_INFINITY ? rl.rlim_max : rl.rlim_cur;
    out.push_back({{"Name", name}, {"Soft", static_cast<int64_t>(soft)}, {"Hard", static_cast<int64_t>(rl.rlim_max)}});
  }
  return out;
}

Result<UniqueFd> listen_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return make_error("socket path `{}` too long", path);
  path.copy(addr.sun_path, path.size());
  ::unlink(path.c_str());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return sys_error(fmt::format("bind `{}`", path));
  ::chmod(path.c_str(), 0666);  // the agent may run as another user (userns-remap)
  if (::listen(fd.get(), 1) != 0) return sys_error("listen");
  return fd;
}

class DockerSession : public Session {
 public:
  DockerSession(EnvSpec spec, DockerConfig cfg, Engine engine, std::string socket)
      : spec_(std::move(spec)), cfg_(std::move(cfg)), engine_(engine), api_(std::move(socket)) {}
  ~DockerSession() override { (void)stop(); }

  std::string label() const override { return spec_.name.empty() ? kind_name(engine_) : spec_.name; }
  std::vector<Metric> lifecycle() const override { return lifecycle_; }

  Status start() {
    const std::string run_id =
        spec_.run_id.empty() ? fmt::format("vb-{}-{:x}", utc_compact_timestamp(), ::getpid()) : spec_.run_id;
    run_id_ = run_id;
    env_ = label();
    instance_ = docker_name(sanitize_name(run_id + "-" + env_));
    owner_ = self_owner();
    // 0711: the daemon bind-mounts ctl/ into the container.
    auto state = EnvState::create(run_id, kind_name(engine_), env_, 0711);
    if (!state) return state.error();
    state_ = std::move(*state);
    if (auto s = mkdir_p(state_.path("ctl"), 0711); !s) return s.error().context("state");
    if (engine_ == Engine::Podman) {
      // The runtime is the service's, for every container it makes.
      const uint64_t t_svc = now_ns();
      auto svc = PodmanService::start(state_.path("podman.sock"), cfg_.runtime, state_.path("podman.log"));
      if (!svc) return svc.error().context("podman");
      service_ = std::move(*svc);
      api_ = UnixHttpClient(service_.socket());
      lifecycle_.push_back(Metric{"service_s", static_cast<double>(now_ns() - t_svc) / 1e9, "s", Better::Lower});
    }
    if (auto s = state_.record("socket", api_.socket_path()); !s) return s;
    nlohmann::json labels = {{kOwnerLabel, owner_}, {kRunLabel, run_id}};

    // The image: a tar of the agent, imported; tagged with the agent's hash.
    const uint64_t t_img = now_ns();
    auto agent = read_file(spec_.agent_path, 256u << 20);
    if (!agent) return agent.error().context("agent");
    const std::string hash = sha256_hex(*agent).substr(0, 16);
    // Podman 4 ignores the import's tag (the image becomes NAME:latest), so
    // there the hash goes into the name.
    const std::string base = cfg_.keep_image ? "vbench/agent" : "vbench/" + instance_;
    image_ = engine_ == Engine::Podman ? base + "-" + hash + ":latest" : base + ":" + hash;
    bool have = false;
    if (cfg_.keep_image) have = api_.call("GET", fmt::format("{}/images/{}/json", kApi, image_)).ok();
    if (!have) {
      image_made_ = !cfg_.keep_image;
      TarWriter tar;
      for (const char* d : {"scratch", "tmp", "vbench-ctl", "proc", "sys", "dev", "etc"}) tar.add_directory(d);
      tar.add_file("vbench-agent", *agent, 0755);
      const std::string repo = image_.substr(0, image_.rfind(':'));
      const std::string tag = image_.substr(image_.rfind(':') + 1);
      // One LABEL per `changes` parameter: podman misreads several in one.
      std::string changes;
      if (cfg_.keep_image)
        changes = "&changes=" + url_encode("LABEL vbench.cached=\"1\"");
      else
        for (const auto& [k, v] : {std::pair{kOwnerLabel, owner_}, std::pair{kRunLabel, run_id}})
          changes += "&changes=" + url_encode(fmt::format("LABEL {}=\"{}\"", k, v));
      auto r = api_.request(
          "POST",
          fmt::format("{}/images/create?fromSrc=-&repo={}&tag={}{}", kApi, url_encode(repo), url_encode(tag), changes),
          tar.finish(), "application/x-tar", 300);
      if (!r) return r.error().context("docker import");
      if (r->status != 200) return make_error("docker import: HTTP {}: {}", r->status, r->body.substr(0, 300));
      if (auto e = stream_error(r->body); !e.empty()) return make_error("docker import: {}", e);
      image_id_ = imported_id(r->body);
    }
    lifecycle_.push_back(Metric{"image_s", static_cast<double>(now_ns() - t_img) / 1e9, "s", Better::Lower});

    // Where the peer listens: the bridge's gateway (the host side of
    // docker0), loopback for the host network.
    if (cfg_.network == Network::Bridge) {
      auto net = api_.call("GET", fmt::format("{}/networks/bridge", kApi));
      if (!net) return net.error().context("Docker's bridge network");
      try {
        peer_host_ = (*net)["IPAM"]["Config"].at(0).at("Gateway").get<std::string>();
      } catch (const nlohmann::json::exception&) {
        return make_error("Docker's bridge network has no gateway address");
      }
    } else if (cfg_.network == Network::Host) {
      peer_host_ = "127.0.0.1";
    }

    nlohmann::json host = {{"NetworkMode", to_string(cfg_.network)},
                           {"Binds", {fmt::format("{}:{}", state_.path("ctl"), kCtlInContainer)}},
                           {"Init", false},
                           {"Ulimits", ulimits_ = bare_ulimits(service_.pid())}};
    if (!cfg_.runtime.empty()) host["Runtime"] = cfg_.runtime;
    if (cfg_.seccomp == Seccomp::Unconfined) host["SecurityOpt"] = {"seccomp=unconfined"};
    if (cfg_.cpus > 0) host["NanoCpus"] = static_cast<int64_t>(cfg_.cpus * 1e9 + 0.5);
    if (!cfg_.cpuset.empty()) host["CpusetCpus"] = cfg_.cpuset;
    if (cfg_.memory > 0) host["Memory"] = cfg_.memory, host["MemorySwap"] = cfg_.memory;
    if (!spec_.scratch_dir.empty()) {
      if (cfg_.storage == Storage::Bind) host["Binds"].push_back(fmt::format("{}:{}", spec_.scratch_dir, kScratch));
      if (cfg_.storage == Storage::Volume) {
        if (auto v =
                api_.call("POST", fmt::format("{}/volumes/create", kApi), {{"Name", instance_}, {"Labels", labels}});
            !v)
          return v.error().context("volume");
        volume_ = instance_;
        host["Mounts"] = {{{"Type", "volume"}, {"Source", volume_}, {"Target", kScratch}}};
      }
    }
    nlohmann::json body = {
        {"Image", image_id_.empty() ? image_ : image_id_},
        {"Cmd", {kAgentPath, "agent", "--container-init", "--connect", fmt::format("{}/agent.sock", kCtlInContainer)}},
        {"Labels", labels},
        {"Hostname", instance_.substr(0, 63)},
        {"HostConfig", host},
    };
    auto listener = listen_unix(state_.path("ctl/agent.sock"));
    if (!listener) return listener.error();

    const uint64_t t0 = now_ns();
    auto created = api_.call("POST", fmt::format("{}/containers/create?name={}", kApi, instance_), body);
    if (!created) return created.error().context("create");
    id_ = (*created).value("Id", instance_);
    const uint64_t t1 = now_ns();
    if (auto s = api_.call("POST", fmt::format("{}/containers/{}/start", kApi, id_)); !s)
      return s.error().context("start");
    auto conn = accept_agent(listener->get());
    if (!conn) return conn.error();
    ch_ = AgentChannel(std::move(*conn));
    auto hello = ch_.hello(spec_.start_timeout_s);
    if (!hello) return hello.error().context("agent start");
    agent_ = *hello;
    const uint64_t t2 = now_ns();
    lifecycle_.push_back(Metric{"create_s", static_cast<double>(t1 - t0) / 1e9, "s", Better::Lower});
    lifecycle_.push_back(Metric{"start_s", static_cast<double>(t2 - t1) / 1e9, "s", Better::Lower});
    collect_daemon_facts();
    return {};
  }

  // Waits for the agent to connect; gives up early, with the daemon's
  // account, when the container has already stopped.
  Result<UniqueFd> accept_agent(int listen_fd) {
    const uint64_t deadline = now_ns() + static_cast<uint64_t>(spec_.start_timeout_s * 1e9);
    uint64_t next_check = now_ns() + 200'000'000ull;
    while (now_ns() < deadline) {
      pollfd p{listen_fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) {
        UniqueFd c(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
        if (!c) return sys_error("accept the agent's connection");
        return c;
      }
      if (now_ns() >= next_check) {
        next_check = now_ns() + 200'000'000ull;
        auto st = api_.call("GET", fmt::format("{}/containers/{}/json", kApi, id_));
        if (st && (*st)["State"].is_object() && !(*st)["State"].value("Running", true))
          return make_error("the container stopped before its agent connected (exit code {}{})",
                            (*st)["State"].value("ExitCode", -1),
                            (*st)["State"].value("Error", "").empty() ? "" : ": " + (*st)["State"].value("Error", ""));
      }
    }
    return make_error("the agent did not connect within {:.0f} s", spec_.start_timeout_s);
  }

  void collect_daemon_facts() {
    if (auto v = api_.call("GET", fmt::format("{}/version", kApi)); v && v->is_object())
      daemon_["server_version"] = v->value("Version", ""), daemon_["api_version"] = v->value("ApiVersion", ""),
      daemon_["kernel"] = v->value("KernelVersion", "");
    if (auto i = api_.call("GET", fmt::format("{}/info", kApi)); i && i->is_object()) {
      daemon_["default_runtime"] = i->value("DefaultRuntime", "");
      daemon_["storage_driver"] = i->value("Driver", "");
      daemon_["cgroup_driver"] = i->value("CgroupDriver", "");
      daemon_["cgroup_version"] = i->value("CgroupVersion", "");
      daemon_["security_options"] = i->contains("SecurityOptions") ? (*i)["SecurityOptions"] : nlohmann::json::array();
      nlohmann::json rts = nlohmann::json::array();
      if (i->contains("Runtimes") && (*i)["Runtimes"].is_object())
        for (const auto& [k, v] : (*i)["Runtimes"].items()) rts.push_back(k);
      daemon_["runtimes"] = rts;
    }
    if (auto c = api_.call("GET", fmt::format("{}/containers/{}/json", kApi, id_)); c && c->is_object()) {
      const auto& hc = (*c)["HostConfig"];
      if (hc.is_object()) daemon_["container_runtime"] = hc.value("Runtime", "");
      if (hc.is_object() && hc.contains("SecurityOpt")) daemon_["container_security_opt"] = hc["SecurityOpt"];
      // The container's cgroup, for CPU accounting: where its PID 1 lives.
      const auto& st = (*c)["State"];
      if (st.is_object() && st.contains("Pid") && st["Pid"].is_number_integer())
        cgroup_dirs_ = process_cgroup_dirs(st["Pid"].get<pid_t>());
    }
  }

  // The directories of a host process's cgroups (from /proc/PID/cgroup and
  // the host's cgroup mounts): the daemon's cgroup driver decides the path.
  static std::vector<std::string> process_cgroup_dirs(pid_t pid) {
    std::vector<std::string> out;
    auto host = detect_cgroups();
    auto text = read_file(fmt::format("/proc/{}/cgroup", pid), 1 << 16);
    if (!host || !text) return out;
    // "4:cpu,cpuacct:/docker/ID" (v1) or "0::/system.slice/docker-ID.scope" (v2).
    for (size_t p = 0; p < text->size();) {
      size_t nl = text->find('\n', p);
      if (nl == std::string::npos) nl = text->size();
      const std::string line = text->substr(p, nl - p);
      p = nl + 1;
      const size_t a = line.find(':'), b = line.find(':', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
      if (controllers.empty() && !host->v2_mount.empty()) out.push_back(host->v2_mount + path);
      if (controllers.find("cpuacct") != std::string::npos && host->v1_mounts.count("cpuacct"))
        out.push_back(host->v1_mounts.at("cpuacct") + path);
    }
    return out;
  }

  Result<Sample> run(const WorkloadRequest& req) override {
    if (stopped_) return make_error("{}: the container has been stopped", label());
    std::string peer;
    if (req.needs_peer) {
      if (peer_host_.empty()) {
        Sample s;
        s.workload = req.workload;
        s.params = req.params;
        s.ok = false;
        s.error = "network = none: the container has no link to a peer";
        return s;
      }
      if (peer_.pid() < 0) {
        auto addr = peer_.start(spec_.agent_path, peer_host_ + ":0");
        if (!addr) return addr.error().context(label());
        peer_addr_ = *addr;
      }
      peer = peer_addr_;
    }
    // The container's cgroup, as the daemon made it; nothing is pinned, so
    // softirq is the whole host's.
    const auto cpu0 = cpu_snapshot(cgroup_dir_cpu_times(cgroup_dirs_), {});
    const uint64_t t0 = now_ns();
    auto s = ch_.run(req, spec_.scratch_dir.empty() ? "" : kScratch, peer);
    const double window_s = static_cast<double>(now_ns() - t0) / 1e9;
    if (!s) return s.error().context(label());
    add_cpu_attribution(*s, cpu0, cpu_snapshot(cgroup_dir_cpu_times(cgroup_dirs_), {}), window_s);
    return s;
  }

  Status stop() override {
    if (stopped_) return {};
    stopped_ = true;
    peer_.stop();
    Status first;
    auto keep = [&](Status s) {
      if (!s && first) first = s;
    };
    // Podman: without its service nothing was made (and nothing can be asked).
    const bool api_up = engine_ == Engine::Docker || service_.pid() > 0;
    if (!api_up) {
    } else if (!id_.empty()) {
      const uint64_t t0 = now_ns();
      (void)ch_.shutdown(3);
      keep(remove_container(api_, id_));
      lifecycle_.push_back(Metric{"teardown_s", static_cast<double>(now_ns() - t0) / 1e9, "s", Better::Lower});
    } else if (!instance_.empty()) {
      keep(remove_container(api_, instance_));  // a create that failed halfway
    }
    if (api_up && !volume_.empty())
      if (auto r = api_.call("DELETE", fmt::format("{}/volumes/{}?force=true", kApi, volume_)); !r) keep(r.error());
    if (api_up && image_made_)
      if (auto r =
              api_.call("DELETE", fmt::format("{}/images/{}?force=true", kApi, image_id_.empty() ? image_ : image_id_));
          !r)
        keep(r.error());
    service_.stop();
    if (first) (void)state_.remove();
    if (!first) return first.error().context(fmt::format("{}: teardown", label()));
    return {};
  }

  // A container whose agent is exiting as it is removed can make Podman 4
  // refuse ("could not be stopped ... container state improper: stopped"):
  // it stopped on its own between the check and the kill. Asked again, it goes.
  static Status remove_container(const UnixHttpClient& api, const std::string& id) {
    Status last;
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (attempt > 0) ::usleep(200'000);
      auto r = api.call("DELETE", fmt::format("{}/containers/{}?force=true&v=true", kApi, id), nullptr, 60);
      if (r || r.error().message.find("HTTP 404") != std::string::npos) return {};
      last = r.error();
    }
    return last;
  }

  nlohmann::json describe() const override {
    nlohmann::json limits = nlohmann::json::object();
    if (cfg_.cpus > 0) limits["cpus"] = cfg_.cpus;
    if (!cfg_.cpuset.empty()) limits["cpuset"] = cfg_.cpuset;
    if (cfg_.memory > 0) limits["memory"] = cfg_.memory;
    nlohmann::json j = {
        {"engine", kind_name(engine_)},
        {"instance", instance_},
        {"image", image_},
        {"socket", engine_ == Engine::Podman ? "vbench's podman system service" : api_.socket_path()},
        {"daemon", daemon_},
        {"network", to_string(cfg_.network)},
        {"peer_host", peer_host_},
        {"runtime", cfg_.runtime.empty() ? "daemon default" : cfg_.runtime},
        {"seccomp", to_string(cfg_.seccomp)},
        {"storage", spec_.scratch_dir.empty() ? "none" : to_string(cfg_.storage)},
        {"limits", limits},
        {"ulimits", ulimits_},
        {"cpu_accounting", describe_cpu_accounting("the container's cgroup (found from its PID 1's /proc/PID/cgroup): "
                                                   "cpuacct.usage and cpuacct.stat (v1) or cpu.stat (v2)",
                                                   Placement::None, host_cpu_count())}};
    if (!agent_.is_null()) j["agent"] = agent_;
    return j;
  }

 private:
  EnvSpec spec_;
  DockerConfig cfg_;
  Engine engine_;
  PodmanService service_;  // Podman only: the API's server, for the session's lifetime
  UnixHttpClient api_;
  std::string run_id_, env_, instance_, owner_;
  EnvState state_;
  std::string image_, image_id_, id_, volume_;
  bool image_made_ = false;
  bool stopped_ = false;
  std::string peer_host_;
  AgentChannel ch_;
  nlohmann::json agent_;
  nlohmann::json daemon_ = nlohmann::json::object();
  nlohmann::json ulimits_;                // what the container was given
  std::vector<std::string> cgroup_dirs_;  // the container's cgroup directories (CPU accounting)
  PeerProcess peer_;
  std::string peer_addr_;
  std::vector<Metric> lifecycle_;
};

// Whether the owner label names a process that is gone.
bool owner_dead(const std::string& owner) {
  auto p = parse_process_identity(owner);
  return p && !process_alive(*p);
}

}  // namespace

namespace {

// Removes every container, volume and image labelled by a vbench that is
// gone, whatever its state directory says.
void remove_dead_owners(const UnixHttpClient& api, std::vector<std::string>& problems) {
  const std::string filter = url_encode(nlohmann::json({{"label", {kOwnerLabel}}}).dump());
  auto dead = [](const nlohmann::json& o) {
    return o.is_object() && o.contains("Labels") && o["Labels"].is_object() && o["Labels"].contains(kOwnerLabel) &&
           o["Labels"][kOwnerLabel].is_string() && owner_dead(o["Labels"][kOwnerLabel].get<std::string>());
  };
  if (auto cs = api.call("GET", fmt::format("{}/containers/json?all=true&filters={}", kApi, filter));
      cs && cs->is_array())
    for (const auto& c : *cs)
      if (dead(c))
        if (auto r = api.call("DELETE", fmt::format("{}/containers/{}?force=true&v=true", kApi, c.value("Id", ""))); !r)
          problems.push_back(r.error().message);
  if (auto vs = api.call("GET", fmt::format("{}/volumes?filters={}", kApi, filter)); vs && vs->is_object())
    for (const auto& v : (*vs)["Volumes"].is_array() ? (*vs)["Volumes"] : nlohmann::json::array())
      if (dead(v))
        if (auto r = api.call("DELETE", fmt::format("{}/volumes/{}?force=true", kApi, v.value("Name", ""))); !r)
          problems.push_back(r.error().message);
  if (auto is = api.call("GET", fmt::format("{}/images/json?filters={}", kApi, filter)); is && is->is_array())
    for (const auto& i : *is)
      if (dead(i))
        if (auto r = api.call("DELETE", fmt::format("{}/images/{}?force=true", kApi, i.value("Id", ""))); !r)
          problems.push_back(r.error().message);
}

// One real session on Podman (service, import, container, agent hello):
// the engine's or the runtime's own words when it refuses this host.
Status podman_trial(const DockerDriver& d) {
  const std::string agent = agent_next_to_self();
  if (agent.empty() || !path_exists(agent)) return make_error("no vbench-agent next to vbench to try");
  EnvSpec spec;
  spec.kind = spec.name = "podman";
  spec.run_id = fmt::format("vbench-probe-{}", ::getpid());
  spec.agent_path = agent;
  spec.start_timeout_s = 60;
  spec.knobs["network"] = "none";  // the runtime is on trial here; networks fail at start, in their own words
  auto cfg = resolve_config(Engine::Podman, d.knobs(), spec);
  if (!cfg) return cfg.error();
  DockerSession session(spec, std::move(*cfg), Engine::Podman, "");
  Status s = session.start();
  Status stopped = session.stop();
  ::rmdir(fmt::format("{}/{}", kRunStateRoot, spec.run_id).c_str());
  if (!s) return s;
  return stopped;
}

}  // namespace

Availability DockerDriver::probe() const {
  if (engine_ == Engine::Podman) {
    static std::once_flag once;
    static Availability result;
    std::call_once(once, [this] {
      if (::geteuid() != 0) {
        result = {false, "needs root (vbench runs Podman rootful: cgroups, bridge network, run-state directory)"};
        return;
      }
      const std::string podman = find_program("podman");
      if (podman.empty()) {
        result = {false, "podman is not installed (Debian: apt-get install podman)"};
        return;
      }
      auto version = run_capture({podman, "--version"}, 20);
      std::string v = version ? *version : "podman (version unknown)";
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
      std::string rt;
      for (const auto& k : knobs())
        if (k.name == "runtime") rt = k.default_value;
      if (auto s = podman_trial(*this); !s)
        result = {false, fmt::format("{} with runtime {} refuses this host: {}", v, rt, s.error().message)};
      else
        result = {true, fmt::format("{} with runtime {} (knob `runtime`) works here", v, rt)};
    });
    return result;
  }
  if (::geteuid() != 0) return {false, "needs root (the Docker socket and the run-state directory)"};
  if (!path_exists(socket_)) {
    const bool installed = !find_program("dockerd").empty();
    return {false, fmt::format("no Docker daemon: `{}` does not exist ({})", socket_,
                               installed ? "dockerd is installed but not running" : "dockerd is not installed")};
  }
  UnixHttpClient api(socket_);
  auto v = api.call("GET", fmt::format("{}/version", kApi), nullptr, 10);
  if (!v) return {false, "the Docker daemon does not answer: " + v.error().message};
  auto info = api.call("GET", fmt::format("{}/info", kApi), nullptr, 10);
  std::string extra;
  if (info && info->is_object())
    extra =
        fmt::format(", runtime {}, storage {}, cgroup driver {} (v{})", info->value("DefaultRuntime", "?"),
                    info->value("Driver", "?"), info->value("CgroupDriver", "?"), info->value("CgroupVersion", "?"));
  return {true, fmt::format("Docker {} (API {}){}", v->value("Version", "?"), v->value("ApiVersion", "?"), extra)};
}

std::vector<ParamSpec> DockerDriver::knobs() const {
  const bool podman = engine_ == Engine::Podman;
  return {
      {"network", ParamType::String, "bridge",
       podman ? "bridge (Podman's default network, NAT; the peer listens on its gateway), host, or none"
              : "bridge (Docker's default NAT bridge, docker0; the peer listens on its gateway), host, or none",
       false, choice_names(kNetworks)},
      // Podman's own default here is often crun, which refuses hosts with
      // hybrid cgroups; runc is also what the docker and oci kinds run.
      {"runtime",
       ParamType::String,
       podman ? "runc" : "",
       podman ? "OCI runtime of vbench's podman service (podman --runtime): runc, crun, runsc, ... or a path"
              : "OCI runtime the daemon knows (runc, runsc, ...); empty: its default",
       false,
       {}},
      {"seccomp", ParamType::String, "default", "default (Docker's profile) or unconfined", false,
       choice_names(kSeccomps)},
      {"cpus", ParamType::Double, "0", "CPU limit in CPUs (--cpus); 0 = none", false, {}},
      {"cpuset", ParamType::String, "", "CPUs the container may run on (--cpuset-cpus); empty: all", false, {}},
      {"memory", ParamType::Size, "0", "memory limit, swap off (--memory = --memory-swap); 0 = none", false, {}},
      {"storage", ParamType::String, "bind",
       "scratch at /scratch: bind (the host scratch dir), volume (a Docker volume), overlay (the container's layer)",
       false, choice_names(kStorages)},
      {"keep_image",
       ParamType::Bool,
       "false",
       podman ? "keep the imported agent image (vbench/agent-<hash>) for later runs instead of removing it"
              : "keep the imported agent image (vbench/agent:<hash>) for later runs instead of removing it",
       false,
       {}},
  };
}

Result<std::unique_ptr<Session>> DockerDriver::start(const EnvSpec& spec) {
  const std::string kind = name();
  auto avail = probe();
  if (!avail.available) return make_error("{}: unavailable: {}", kind, avail.reason);
  auto cfg = resolve_config(engine_, knobs(), spec);
  if (!cfg) return cfg.error().context(kind);
  if (spec.agent_path.empty() || !path_exists(spec.agent_path))
    return make_error("{}: agent binary `{}` not found", kind, spec.agent_path);
  auto session = std::make_unique<DockerSession>(spec, std::move(*cfg), engine_, socket_);
  if (auto s = session->start(); !s) {
    (void)session->stop();  // nothing half-built stays behind
    return s.error().context(fmt::format("{} `{}`", kind, session->label()));
  }
  return std::unique_ptr<Session>(std::move(session));
}

Status DockerDriver::cleanup_stale() {
  std::vector<std::string> problems;
  const auto dirs = dead_env_states(name());
  if (engine_ == Engine::Docker) {
    if (path_exists(socket_)) remove_dead_owners(UnixHttpClient(socket_), problems);
  } else if (!dirs.empty() && !find_program("podman").empty()) {
    // Podman answers only while a service runs: one of our own, for the
    // cleanup, when a dead run left state behind. (Its runtime does not
    // matter for listing and removing.)
    const std::string sock = fmt::format("{}/podman-cleanup-{}.sock", kRunStateRoot, ::getpid());
    auto svc = PodmanService::start(sock, "", fmt::format("{}/podman-cleanup-{}.log", kRunStateRoot, ::getpid()));
    if (!svc)
      problems.push_back(svc.error().message);
    else
      remove_dead_owners(UnixHttpClient(svc->socket()), problems);
    ::unlink(fmt::format("{}/podman-cleanup-{}.log", kRunStateRoot, ::getpid()).c_str());
  }
  for (const auto& state : dirs)
    if (auto s = state.remove(); !s) problems.push_back(s.error().message);
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
    return make_error("{} cleanup: {}", name(), all);
  }
  return {};
}

}  // namespace vbench
