#pragma once
// A run's results as stored: results.jsonl is written line by line as the run
// goes (a crash loses at most the sample in flight):
//   {"type":"run", ...RunMeta}          first line
//   {"type":"env", ...EnvRecord}        when an environment started (or failed to)
//   {"type":"sample", ...Sample}        one per sample, warm-ups included (flagged)
//   {"type":"end", "finished_at", "interrupted"}
// results.json holds the same records plus the computed summary, and is
// written atomically at the end; both can be read back by load_results.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/sample.hpp"

namespace vbench {

// The results format this vbench writes (the run record's "format_version";
// files without one are version 1). A newer file is refused by name, not
// half-read.
constexpr int kResultsFormatVersion = 1;
// Bounds on a results file read back (it is untrusted input): the whole
// results.json, one results.jsonl line, and nesting depth.
constexpr size_t kMaxResultsDocument = size_t{1} << 30;
constexpr size_t kMaxResultsLine = size_t{64} << 20;
constexpr size_t kMaxResultsDepth = 64;

struct RunMeta {
  std::string run_id;
  std::string vbench_version;
  std::string git_commit;
  std::string started_at;
  std::string finished_at;
  uint64_t seed = 0;
  std::string baseline_env;
  nlohmann::json host = nlohmann::json::object();   // HostInfo::to_json()
  nlohmann::json suite = nlohmann::json::object();  // the suite as run
  std::string command_line;
  bool interrupted = false;
};

// An environment whose session broke (agent crash, guest died, timeout) and
// was started again: when, why, and the new session's start (or why not).
struct EnvRestart {
  int round = -1;                 // the round whose sample broke the session
  std::string workload;           // the workload that was running
  std::string reason;             // the error the session gave
  bool started = false;           // the new session came up
  std::string error;              // why it did not
  std::vector<Metric> lifecycle;  // the new session's (start_s, boot_s, ...)
};

struct EnvRecord {
  std::string name;   // suite name: "container"
  std::string kind;   // driver: "container"
  std::string label;  // as shown: "kvm[tcg]"
  bool started = false;
  std::string error;              // why it did not start
  std::vector<Metric> lifecycle;  // e.g. start_s, boot_s, teardown_s
  nlohmann::json describe = nlohmann::json::object();
  std::vector<std::string> warnings;
  std::vector<EnvRestart> restarts;  // in order; the lifecycle above is the first session's
};

struct ResultSet {
  RunMeta meta;
  std::vector<EnvRecord> envs;
  std::vector<Sample> samples;

  const EnvRecord* env(const std::string& label) const;
};

nlohmann::json to_json(const RunMeta& m);
nlohmann::json to_json(const EnvRecord& e);
Result<RunMeta> run_meta_from_json(const nlohmann::json& j);
Result<EnvRecord> env_record_from_json(const nlohmann::json& j);

// Reads results.json or results.jsonl (by content: a JSON object with "run",
// or JSON lines). Errors name the file and line.
Result<ResultSet> load_results(const std::string& path);
// The same from text already read; `source` names it in errors (a path, or
// "history:RUN").
Result<ResultSet> parse_results(const std::string& text, const std::string& source);

// Appends records to results.jsonl, each line synced to disk.
class ResultsLog {
 public:
  static Result<ResultsLog> open(const std::string& path);
  Status write_meta(const RunMeta& m);
  Status write_env(const EnvRecord& e);
  Status write_sample(const Sample& s);
  Status write_end(const RunMeta& m);
  // Whether any append failed (disk full, directory gone): the run's exit
  // code says so even though the run went on.
  bool write_failed() const { return *failed_; }

 private:
  Status append(const nlohmann::json& j);
  std::string path_;
  std::shared_ptr<UniqueFd> fd_;
  std::shared_ptr<bool> failed_ = std::make_shared<bool>(false);
};

}  // namespace vbench
