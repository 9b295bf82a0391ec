// Which files a run writes, and which format a file name asks for.
#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <string_view>

#include "core/fs.hpp"
#include "reports/reports.hpp"

namespace vbench {

Result<std::string> render_for_path(const std::string& path, const ResultSet& rs, const RunSummary& summary) {
  auto ends = [&](std::string_view ext) { return path.size() > ext.size() && path.ends_with(ext); };
  if (ends(".json")) return dump_json(render_json(rs, summary), 1) + "\n";
  if (ends(".csv")) return render_summary_csv(summary);
  if (ends(".html")) return render_html(rs, summary);
  if (ends(".md")) return render_markdown(rs, summary);
  return make_error("`{}`: unknown report format (the extension picks it: .html, .md, .csv or .json)", path);
}

Status write_result_files(const std::string& dir, const ResultSet& rs, const RunSummary& summary) {
  for (const char* name : {"results.json", "results.csv", "report.html", "report.md"}) {
    auto text = render_for_path(name, rs, summary);
    if (!text) return text.error();
    if (auto s = write_file_atomic(dir + "/" + name, *text); !s) return s;
  }
  return write_file_atomic(dir + "/samples.csv", render_samples_csv(rs));
}

namespace {

// A name a run writes into its output directory (results, reports, the
// per-environment agent log and console tail, a temporary file left by a
// crash).
bool is_run_output_name(std::string_view n) {
  for (std::string_view f : {"results.json", "results.csv", "results.jsonl", "samples.csv", "report.html", "report.md"})
    if (n == f || (n.starts_with(f) && n.substr(f.size()).starts_with(".tmp."))) return true;
  return n.ends_with("-agent.log") || n.ends_with("-console.log");
}

}  // namespace

Status check_output_dir(const std::string& dir) {
  if (auto s = refuse_system_dir(dir); !s) return s;
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return errno == ENOENT ? Status{} : sys_error(fmt::format("stat `{}`", dir));
  if (S_ISLNK(st.st_mode) && ::stat(dir.c_str(), &st) != 0) return sys_error(fmt::format("stat `{}`", dir));
  if (!S_ISDIR(st.st_mode)) return make_error("`{}` exists and is not a directory", dir);
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return sys_error(fmt::format("open directory `{}`", dir));
  while (const dirent* e = ::readdir(d.get())) {
    const std::string_view n = e->d_name;
    if (n == "." || n == ".." || is_run_output_name(n)) continue;
    return make_error("`{}` is not empty and not a vbench output directory (it holds `{}`): give a new or empty one",
                      dir, n);
  }
  return {};
}

}  // namespace vbench
