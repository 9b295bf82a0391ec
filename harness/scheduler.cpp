#include "harness/scheduler.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <random>

#include "core/clock.hpp"
#include "drivers/agent_channel.hpp"
#include "drivers/driver.hpp"
#include "model/stats.hpp"
#include "workloads/registry.hpp"

namespace vbench {
namespace {

struct Cell {
  size_t env = 0;
  const PlannedWorkload* work = nullptr;
  bool needs_peer = false;
  int measured = 0;  // measured samples so far (failed included)
  int failed = 0;
  bool finished = false;
  double seconds = 0;  // time its samples took, for the budget
  int samples = 0;
  std::map<std::string, std::vector<double>> values;  // metric -> measured values
};

struct LiveEnv {
  const PlannedEnv* plan = nullptr;
  Driver* driver = nullptr;
  std::unique_ptr<Session> session;
  EnvRecord record;
  int restarts = 0;
  bool down = false;
  std::string down_reason;
};

Sample failed_sample(const std::string& env, const PlannedWorkload& w, const std::string& error) {
  Sample s;
  s.env = env;
  s.workload = w.workload;
  s.params = w.params;
  s.ok = false;
  s.error = error;
  s.started_at = utc_timestamp(true);
  return s;
}

// How far the cell is from its target: the widest relative CI half-width of
// its metrics' medians over the target (an overhead ratio's CI is about as
// wide as its two sides' combined, so the widest side needs repetitions most).
double imprecision(const Cell& c, double target, uint64_t seed) {
  double worst = 0;
  for (const auto& [name, xs] : c.values) {
    if (xs.size() < 2) return std::numeric_limits<double>::infinity();
    const double hw = ci_halfwidth_rel(summarize(xs, seed));
    worst = std::max(worst, std::isfinite(hw) ? hw / target : std::numeric_limits<double>::infinity());
  }
  return worst;
}

// True when every metric of the cell is measured tightly enough to stop.
bool precise_enough(const Cell& c, double target, uint64_t seed) {
  if (c.values.empty()) return false;
  for (const auto& [name, xs] : c.values) {
    if (xs.size() < 2) return false;
    const Summary s = summarize(xs, seed);
    const double hw = ci_halfwidth_rel(s);
    if (!(hw <= target)) return false;
  }
  return true;
}

Status start_env(LiveEnv& env, const RunConfig& cfg) {
  EnvSpec spec;
  spec.name = env.plan->name;
  spec.kind = env.plan->kind;
  spec.knobs = env.plan->knobs;
  spec.run_id = cfg.run_id;
  spec.agent_path = cfg.agent_path;
  // The environment's own agent (knob `agent`, common to every kind): the
  // driver sees only its path, not the knob.
  if (auto it = spec.knobs.find(kAgentKnob); it != spec.knobs.end()) {
    if (it->second.is_string()) spec.agent_path = it->second.get<std::string>();
    spec.knobs.erase(it);
  }
  spec.scratch_dir = cfg.scratch_dir;
  spec.out_dir = cfg.out_dir;
  spec.start_timeout_s = cfg.env_start_timeout_s;
  spec.placement = cfg.placement;
  auto s = env.driver->start(spec);
  if (!s) return s.error();
  env.session = std::move(*s);
  return {};
}

}  // namespace

std::string make_run_id() {
  std::random_device rd;
  time_t now = time(nullptr);
  tm t;
  gmtime_r(&now, &t);
  char ts[32];
  strftime(ts, sizeof ts, "%y%m%d%H%M%S", &t);
  return fmt::format("vb{}-{:06x}", ts, (rd() ^ static_cast<unsigned>(getpid())) & 0xffffff);
}

ResultSet execute_run(const RunConfig& cfg, RunMeta meta, ResultsLog& log, Progress& progress,
                      const std::atomic<bool>& stop, const DriverLookup& drivers) {
  ResultSet rs;
  rs.meta = std::move(meta);
  auto record = [&](Sample s) {
    if (auto w = log.write_sample(s); !w) progress.message(fmt::format("warning: {}", w.error().message));
    rs.samples.push_back(std::move(s));
  };

  // Start every environment once; one that fails to start is recorded with
  // its reason and its cells fail, while the others go on.
  std::vector<LiveEnv> envs(cfg.envs.size());
  for (size_t i = 0; i < cfg.envs.size() && !stop.load(); ++i) {
    LiveEnv& e = envs[i];
    e.plan = &cfg.envs[i];
    e.driver = drivers(e.plan->kind);
    e.record.name = e.plan->name;
    e.record.kind = e.plan->kind;
    e.record.label = e.plan->name;
    progress.message(fmt::format("starting environment {} ({})", e.plan->name, e.plan->kind));
    Status st = e.driver ? start_env(e, cfg) : make_error("no driver `{}`", e.plan->kind);
    if (!st) {
      e.down = true;
      e.down_reason = fmt::format("environment {} did not start: {}", e.plan->name, st.error().message);
      e.record.error = e.down_reason;
      progress.message(e.down_reason);
    } else {
      e.record.started = true;
      e.record.label = e.plan->name == e.plan->kind ? e.session->label() : e.plan->name;
      e.record.lifecycle = e.session->lifecycle();
      e.record.describe = e.session->describe();
      e.record.warnings = e.session->warnings();
      for (const auto& w : e.record.warnings) progress.message(fmt::format("WARNING [{}]: {}", e.record.label, w));
    }
    if (auto w = log.write_env(e.record); !w) progress.message(fmt::format("warning: {}", w.error().message));
  }

  std::vector<Cell> cells;
  for (size_t e = 0; e < cfg.envs.size(); ++e)
    for (const auto& w : cfg.workloads) {
      Cell c;
      c.env = e;
      c.work = &w;
      const WorkloadDef* def = find_workload(w.workload);
      c.needs_peer = def && def->needs_peer;
      cells.push_back(std::move(c));
    }
  progress.set_total(cells.size() * static_cast<size_t>(cfg.warmup + cfg.repetitions));

  std::mt19937_64 rng(cfg.seed);
  const int rounds = cfg.warmup + std::max(cfg.repetitions, cfg.max_repetitions);
  // --budget: no sample starts that would, at its cell's average so far, end
  // past the budget (counted from here: environment start and stop are
  // outside it). Past the minimum repetitions each round runs the open cells
  // whose CI is widest relative to the target (the upper half), shuffled as
  // every round is.
  const uint64_t t_budget = now_ns();
  bool budget_spent = false;
  auto remaining_s = [&] { return cfg.budget_s - static_cast<double>(now_ns() - t_budget) / 1e9; };
  for (int round = 0; round < rounds && !stop.load() && !budget_spent; ++round) {
    const bool warmup = round < cfg.warmup;
    const int measured_round = round - cfg.warmup;
    if (!warmup && measured_round == cfg.repetitions) {
      // Past the minimum: adaptive rounds run only the cells still too noisy.
      size_t open = 0;
      for (auto& c : cells) {
        if (!c.finished && (c.failed == c.measured || precise_enough(c, cfg.ci_target, cfg.seed))) c.finished = true;
        open += !c.finished;
      }
      progress.add_total(open);
    } else if (!warmup && measured_round > cfg.repetitions) {
      size_t open = 0;
      for (auto& c : cells) {
        if (!c.finished && precise_enough(c, cfg.ci_target, cfg.seed)) c.finished = true;
        open += !c.finished;
      }
      progress.add_total(open);
    }
    std::vector<size_t> order(cells.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<bool> skip(cells.size(), false);
    if (cfg.budget_s > 0 && !warmup && measured_round >= cfg.repetitions) {
      std::vector<double> score(cells.size(), 0), open_scores;
      for (size_t i = 0; i < cells.size(); ++i)
        if (!cells[i].finished) open_scores.push_back(score[i] = imprecision(cells[i], cfg.ci_target, cfg.seed));
      if (!open_scores.empty()) {
        const auto mid = open_scores.begin() + static_cast<long>(open_scores.size() / 2);
        std::nth_element(open_scores.begin(), mid, open_scores.end());
        for (size_t i = 0; i < cells.size(); ++i) skip[i] = !cells[i].finished && score[i] < *mid;
      }
    }
    bool ran_any = false;
    for (size_t idx : order) {
      if (stop.load() || budget_spent) break;
      Cell& c = cells[idx];
      if (c.finished || skip[idx]) continue;
      if (cfg.budget_s > 0) {
        const double expected = c.samples > 0 ? c.seconds / c.samples : 0;
        if (remaining_s() <= expected) {
          if (remaining_s() <= 0) budget_spent = true;
          continue;
        }
      }
      LiveEnv& env = envs[c.env];
      const std::string label = env.record.label;
      progress.begin(fmt::format("{}{} {} round {}", warmup ? "warm-up " : "", label, c.work->workload, round + 1));
      const uint64_t t0 = now_ns();
      Sample s;
      if (env.down) {
        s = failed_sample(label, *c.work, env.down_reason);
      } else {
        WorkloadRequest req;
        req.workload = c.work->workload;
        req.params = c.work->params;
        req.counters = cfg.counters;
        req.needs_peer = c.needs_peer;
        req.timeout_s = cfg.timeout_s;
        auto r = env.session->run(req);
        if (r) {
          s = std::move(*r);
        } else {
          s = failed_sample(label, *c.work, r.error().message);
          // The channel broke (agent crash, guest died, timeout): restart the
          // environment once or twice, then give up on it.
          if (!stop.load()) {
            (void)env.session->stop();
            env.session.reset();
            if (env.restarts < 2) {
              ++env.restarts;
              progress.message(fmt::format("{}: {}; restarting the environment", label, r.error().message));
              EnvRestart restart;
              restart.round = round;
              restart.workload = c.work->workload;
              restart.reason = r.error().message;
              if (auto st = start_env(env, cfg); !st) {
                env.down = true;
                env.down_reason =
                    fmt::format("environment {} failed and did not restart: {}", label, st.error().message);
                restart.error = st.error().message;
              } else {
                restart.started = true;
                restart.lifecycle = env.session->lifecycle();
              }
              env.record.warnings.push_back(fmt::format("restarted in round {} after {} failed: {}{}", round + 1,
                                                        restart.workload, restart.reason,
                                                        restart.started ? "" : "; it did not come back"));
              env.record.restarts.push_back(std::move(restart));
              if (auto w = log.write_env(env.record); !w)
                progress.message(fmt::format("warning: {}", w.error().message));
            } else {
              env.down = true;
              env.down_reason =
                  fmt::format("environment {} failed repeatedly; last error: {}", label, r.error().message);
            }
          }
        }
      }
      s.env = label;
      s.round = round;
      s.warmup = warmup;
      const double secs = static_cast<double>(now_ns() - t0) / 1e9;
      progress.end(s.ok, secs, s.ok ? "" : s.error);
      c.seconds += secs;
      ++c.samples;
      ran_any = true;
      if (!warmup) {
        ++c.measured;
        if (!s.ok)
          ++c.failed;
        else
          for (const auto& m : s.metrics)
            if (std::isfinite(m.value)) c.values[m.name].push_back(m.value);
        if (c.measured >= std::max(cfg.repetitions, cfg.max_repetitions)) c.finished = true;
        // A cell that fails every time is not retried beyond the minimum.
        if (c.failed == c.measured && c.measured >= cfg.repetitions) c.finished = true;
      }
      record(std::move(s));
    }
    // Nothing open fits in what is left of the budget: the run is done.
    if (cfg.budget_s > 0 && !ran_any &&
        std::any_of(cells.begin(), cells.end(), [](const Cell& c) { return !c.finished; }))
      budget_spent = true;
  }

  if (cfg.budget_s > 0 && !stop.load())
    progress.message(fmt::format("time budget of {:.0f} s: measured for {:.0f} s", cfg.budget_s,
                                 static_cast<double>(now_ns() - t_budget) / 1e9));

  for (auto& e : envs) {
    if (!e.session) continue;
    const uint64_t t0 = now_ns();
    if (auto st = e.session->stop(); !st)
      progress.message(fmt::format("warning: stopping {}: {}", e.record.label, st.error().message));
    Metric teardown{"teardown_s", static_cast<double>(now_ns() - t0) / 1e9, "s", Better::Lower};
    e.record.lifecycle.push_back(teardown);
    e.session.reset();
    (void)log.write_env(e.record);
  }
  for (auto& e : envs) rs.envs.push_back(e.record);
  rs.meta.interrupted = stop.load();
  progress.finish();
  return rs;
}

}  // namespace vbench
