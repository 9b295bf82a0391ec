#include "drivers/docker/docker.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "core/sha256.hpp"
#include "core/units.hpp"
#include "drivers/agent_channel.hpp"
#include "drivers/container/cgroup.hpp"
#include "drivers/container/state.hpp"
#include "drivers/cpu_accounting.hpp"
#include "drivers/docker/http_unix.hpp"
#include "drivers/docker/tar.hpp"
#include "drivers/kvm/host_command.hpp"
#include "drivers/kvm/run_state.hpp"
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

struct DockerConfig {
  std::string network = "bridge";  // bridge | host | none
  std::string runtime;             // "" = the daemon's default
  std::string seccomp = "default";
  double cpus = 0;
  std::string cpuset;
  uint64_t memory = 0;
  Storage storage = Storage::Bind;
  bool keep_image = false;
};

Result<DockerConfig> resolve_config(const std::vector<ParamSpec>& specs, const EnvSpec& env) {
  for (const auto& [k, v] : env.knobs) {
    bool known = false;
    for (const auto& p : specs) known = known || p.name == k;
    if (!known) {
      std::vector<std::string> names;
      for (const auto& p : specs) names.push_back(p.name);
      return make_error("no knob `{}` (docker has: {})", k, fmt::join(names, ", "));
    }
  }
  nlohmann::json j;
  for (const auto& p : specs) {
    auto it = env.knobs.find(p.name);
    auto v = normalize_param(p, it != env.knobs.end() ? it->second : nlohmann::json(p.default_value));
    if (!v) return v.error();
    j[p.name] = *v;
  }
  DockerConfig c;
  c.network = j["network"].get<std::string>();
  c.runtime = j["runtime"].get<std::string>();
  c.seccomp = j["seccomp"].get<std::string>();
  c.cpus = j["cpus"].get<double>();
  if (c.cpus < 0) return make_error("cpus must be >= 0 (0 = no limit), not {}", c.cpus);
  c.cpuset = j["cpuset"].get<std::string>();
  c.memory = j["memory"].get<uint64_t>();
  if (c.memory > 0 && c.memory < kMinMemory)
    return make_error("memory = {} is below what the agent itself needs ({})", format_size(c.memory),
                      format_size(kMinMemory));
  const std::string st = j["storage"].get<std::string>();
  c.storage = st == "volume" ? Storage::Volume : st == "overlay" ? Storage::Overlay : Storage::Bind;
  c.keep_image = j["keep_image"].get<bool>();
  return c;
}

const char* to_string(Storage s) {
  switch (s) {
    case Storage::Bind:
      return "bind";
    case Storage::Volume:
      return "volume";
    case Storage::Overlay:
      return "overlay";
  }
  return "?";
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

// The error line a JSON progress stream (images/create) ends with, if any.
std::string stream_error(const std::string& body) {
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string::npos) nl = body.size();
    auto j = nlohmann::json::parse(body.substr(pos, nl - pos), nullptr, false);
    pos = nl + 1;
    if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  }
  return "";
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
  DockerSession(EnvSpec spec, DockerConfig cfg, std::string socket)
      : spec_(std::move(spec)), cfg_(std::move(cfg)), api_(std::move(socket)) {}
  ~DockerSession() override { (void)stop(); }

  std::string label() const override { return spec_.name.empty() ? "docker" : spec_.name; }
  std::vector<Metric> lifecycle() const override { return lifecycle_; }

  Status start() {
    const std::string run_id =
        spec_.run_id.empty() ? fmt::format("vb-{}-{:x}", utc_compact_timestamp(), ::getpid()) : spec_.run_id;
    run_id_ = run_id;
    env_ = spec_.name.empty() ? "docker" : spec_.name;
    instance_ = docker_name(sanitize_name(run_id + "-" + env_));
    owner_ = self_owner();
    state_dir_ = fmt::format("{}/{}/docker-{}", kRunStateRoot, file_safe(run_id), file_safe(env_));
    if (auto s = mkdir_p(state_dir_ + "/ctl", 0711); !s) return s.error().context("state");
    if (auto s = write_file_atomic(state_dir_ + "/owner", owner_ + "\n"); !s) return s.error().context("state");
    if (auto s = write_file_atomic(state_dir_ + "/socket", api_.socket_path() + "\n"); !s)
      return s.error().context("state");
    nlohmann::json labels = {{kOwnerLabel, owner_}, {kRunLabel, run_id}};

    // The image: a tar of the agent, imported; tagged with the agent's hash.
    const uint64_t t_img = now_ns();
    auto agent = read_file(spec_.agent_path, 256u << 20);
    if (!agent) return agent.error().context("agent");
    const std::string hash = sha256_hex(*agent).substr(0, 16);
    image_ = cfg_.keep_image ? "vbench/agent:" + hash : "vbench/" + instance_ + ":" + hash;
    bool have = false;
    if (cfg_.keep_image) have = api_.call("GET", fmt::format("{}/images/{}/json", kApi, image_)).ok();
    if (!have) {
      image_made_ = !cfg_.keep_image;
      TarWriter tar;
      for (const char* d : {"scratch", "tmp", "vbench-ctl", "proc", "sys", "dev", "etc"}) tar.add_directory(d);
      tar.add_file("vbench-agent", *agent, 0755);
      const std::string repo = image_.substr(0, image_.rfind(':'));
      std::string changes = cfg_.keep_image
                                ? "LABEL vbench.cached=\"1\""
                                : fmt::format("LABEL {}=\"{}\" {}=\"{}\"", kOwnerLabel, owner_, kRunLabel, run_id);
      auto r = api_.request("POST",
                            fmt::format("{}/images/create?fromSrc=-&repo={}&tag={}&changes={}", kApi, url_encode(repo),
                                        hash, url_encode(changes)),
                            tar.finish(), "application/x-tar", 300);
      if (!r) return r.error().context("docker import");
      if (r->status != 200) return make_error("docker import: HTTP {}: {}", r->status, r->body.substr(0, 300));
      if (auto e = stream_error(r->body); !e.empty()) return make_error("docker import: {}", e);
    }
    lifecycle_.push_back(Metric{"image_s", static_cast<double>(now_ns() - t_img) / 1e9, "s", Better::Lower});

    // Where the peer listens: the bridge's gateway (the host side of
    // docker0), loopback for the host network.
    if (cfg_.network == "bridge") {
      auto net = api_.call("GET", fmt::format("{}/networks/bridge", kApi));
      if (!net) return net.error().context("Docker's bridge network");
      try {
        peer_host_ = (*net)["IPAM"]["Config"].at(0).at("Gateway").get<std::string>();
      } catch (const nlohmann::json::exception&) {
        return make_error("Docker's bridge network has no gateway address");
      }
    } else if (cfg_.network == "host") {
      peer_host_ = "127.0.0.1";
    }

    nlohmann::json host = {{"NetworkMode", cfg_.network},
                           {"Binds", {fmt::format("{}/ctl:{}", state_dir_, kCtlInContainer)}},
                           {"Init", false}};
    if (!cfg_.runtime.empty()) host["Runtime"] = cfg_.runtime;
    if (cfg_.seccomp == "unconfined") host["SecurityOpt"] = {"seccomp=unconfined"};
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
        {"Image", image_},
        {"Cmd", {kAgentPath, "agent", "--container-init", "--connect", fmt::format("{}/agent.sock", kCtlInContainer)}},
        {"Labels", labels},
        {"Hostname", instance_.substr(0, 63)},
        {"HostConfig", host},
    };
    auto listener = listen_unix(state_dir_ + "/ctl/agent.sock");
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
    if (!id_.empty()) {
      const uint64_t t0 = now_ns();
      (void)ch_.shutdown(3);
      keep(remove_container(api_, id_));
      lifecycle_.push_back(Metric{"teardown_s", static_cast<double>(now_ns() - t0) / 1e9, "s", Better::Lower});
    } else if (!instance_.empty()) {
      keep(remove_container(api_, instance_));  // a create that failed halfway
    }
    if (!volume_.empty())
      if (auto r = api_.call("DELETE", fmt::format("{}/volumes/{}?force=true", kApi, volume_)); !r) keep(r.error());
    if (image_made_)
      if (auto r = api_.call("DELETE", fmt::format("{}/images/{}?force=true", kApi, image_)); !r) keep(r.error());
    if (!state_dir_.empty() && first) {
      (void)remove_tree(state_dir_);
      ::rmdir(state_dir_.substr(0, state_dir_.rfind('/')).c_str());  // the run's directory, when empty
    }
    if (!first) return first.error().context(fmt::format("{}: teardown", label()));
    return {};
  }

  static Status remove_container(const UnixHttpClient& api, const std::string& id) {
    auto r = api.call("DELETE", fmt::format("{}/containers/{}?force=true&v=true", kApi, id), nullptr, 60);
    if (!r && r.error().message.find("HTTP 404") == std::string::npos) return r.error();
    return {};
  }

  nlohmann::json describe() const override {
    nlohmann::json limits = nlohmann::json::object();
    if (cfg_.cpus > 0) limits["cpus"] = cfg_.cpus;
    if (!cfg_.cpuset.empty()) limits["cpuset"] = cfg_.cpuset;
    if (cfg_.memory > 0) limits["memory"] = cfg_.memory;
    nlohmann::json j = {
        {"instance", instance_},
        {"image", image_},
        {"socket", api_.socket_path()},
        {"daemon", daemon_},
        {"network", cfg_.network},
        {"peer_host", peer_host_},
        {"runtime", cfg_.runtime.empty() ? "daemon default" : cfg_.runtime},
        {"seccomp", cfg_.seccomp},
        {"storage", spec_.scratch_dir.empty() ? "none" : to_string(cfg_.storage)},
        {"limits", limits},
        {"cpu_accounting", describe_cpu_accounting("the container's cgroup (found from its PID 1's /proc/PID/cgroup): "
                                                   "cpuacct.usage and cpuacct.stat (v1) or cpu.stat (v2)",
                                                   Placement::None, host_cpu_count())}};
    if (!agent_.is_null()) j["agent"] = agent_;
    return j;
  }

 private:
  EnvSpec spec_;
  DockerConfig cfg_;
  UnixHttpClient api_;
  std::string run_id_, env_, instance_, owner_, state_dir_;
  std::string image_, id_, volume_;
  bool image_made_ = false;
  bool stopped_ = false;
  std::string peer_host_;
  AgentChannel ch_;
  nlohmann::json agent_;
  nlohmann::json daemon_ = nlohmann::json::object();
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

Availability DockerDriver::probe() const {
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
  return {
      {"network",
       ParamType::String,
       "bridge",
       "bridge (Docker's default NAT bridge, docker0; the peer listens on its gateway), host, or none",
       false,
       {"bridge", "host", "none"}},
      {"runtime",
       ParamType::String,
       "",
       "OCI runtime the daemon knows (runc, runsc, ...); empty: its default",
       false,
       {}},
      {"seccomp",
       ParamType::String,
       "default",
       "default (Docker's profile) or unconfined",
       false,
       {"default", "unconfined"}},
      {"cpus", ParamType::Double, "0", "CPU limit in CPUs (--cpus); 0 = none", false, {}},
      {"cpuset", ParamType::String, "", "CPUs the container may run on (--cpuset-cpus); empty: all", false, {}},
      {"memory", ParamType::Size, "0", "memory limit, swap off (--memory = --memory-swap); 0 = none", false, {}},
      {"storage",
       ParamType::String,
       "bind",
       "scratch at /scratch: bind (the host scratch dir), volume (a Docker volume), overlay (the container's layer)",
       false,
       {"bind", "volume", "overlay"}},
      {"keep_image",
       ParamType::Bool,
       "false",
       "keep the imported agent image (vbench/agent:<hash>) for later runs instead of removing it",
       false,
       {}},
  };
}

Result<std::unique_ptr<Session>> DockerDriver::start(const EnvSpec& spec) {
  auto avail = probe();
  if (!avail.available) return make_error("docker: unavailable: {}", avail.reason);
  auto cfg = resolve_config(knobs(), spec);
  if (!cfg) return cfg.error().context("docker");
  if (spec.agent_path.empty() || !path_exists(spec.agent_path))
    return make_error("docker: agent binary `{}` not found", spec.agent_path);
  auto session = std::make_unique<DockerSession>(spec, std::move(*cfg), socket_);
  if (auto s = session->start(); !s) {
    (void)session->stop();  // nothing half-built stays behind
    return s.error().context(fmt::format("docker `{}`", session->label()));
  }
  return std::unique_ptr<Session>(std::move(session));
}

Status DockerDriver::cleanup_stale() {
  namespace fs = std::filesystem;
  std::vector<std::string> problems;
  const bool daemon = path_exists(socket_);
  UnixHttpClient api(socket_);
  if (daemon) {
    // Everything labelled by a vbench that is gone, whatever its state dir says.
    const std::string filter = url_encode(nlohmann::json({{"label", {kOwnerLabel}}}).dump());
    if (auto cs = api.call("GET", fmt::format("{}/containers/json?all=true&filters={}", kApi, filter)); cs)
      for (const auto& c : *cs)
        if (c.contains("Labels") && c["Labels"].is_object() && owner_dead(c["Labels"].value(kOwnerLabel, "")))
          if (auto r = api.call("DELETE", fmt::format("{}/containers/{}?force=true&v=true", kApi, c.value("Id", "")));
              !r)
            problems.push_back(r.error().message);
    if (auto vs = api.call("GET", fmt::format("{}/volumes?filters={}", kApi, filter)); vs && vs->is_object())
      for (const auto& v : (*vs)["Volumes"].is_array() ? (*vs)["Volumes"] : nlohmann::json::array())
        if (v.contains("Labels") && v["Labels"].is_object() && owner_dead(v["Labels"].value(kOwnerLabel, "")))
          if (auto r = api.call("DELETE", fmt::format("{}/volumes/{}?force=true", kApi, v.value("Name", ""))); !r)
            problems.push_back(r.error().message);
    if (auto is = api.call("GET", fmt::format("{}/images/json?filters={}", kApi, filter)); is)
      for (const auto& i : *is)
        if (i.contains("Labels") && i["Labels"].is_object() && owner_dead(i["Labels"].value(kOwnerLabel, "")))
          if (auto r = api.call("DELETE", fmt::format("{}/images/{}?force=true", kApi, i.value("Id", ""))); !r)
            problems.push_back(r.error().message);
  }
  // State directories of dead owners.
  std::error_code ec;
  for (fs::directory_iterator run(kRunStateRoot, ec), end; !ec && run != end; run.increment(ec)) {
    if (!run->is_directory(ec)) continue;
    std::error_code ec2;
    for (fs::directory_iterator env(run->path(), ec2), end2; !ec2 && env != end2; env.increment(ec2)) {
      if (env->path().filename().string().rfind("docker-", 0) != 0) continue;
      const std::string dir = env->path().string();
      auto owner = read_line(dir + "/owner");
      if (!owner) {
        struct stat st {};
        if (::stat(dir.c_str(), &st) == 0 && ::time(nullptr) - st.st_mtime < 60) continue;
      } else if (!owner_dead(*owner)) {
        continue;
      }
      if (auto s = remove_tree(dir); !s) problems.push_back(s.error().message);
    }
    ::rmdir(run->path().c_str());  // only if now empty
  }
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
    return make_error("docker cleanup: {}", all);
  }
  return {};
}

}  // namespace vbench
