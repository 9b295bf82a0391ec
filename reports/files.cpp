// Which files a run writes, and which format a file name asks for.
#include <fmt/format.h>

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

}  // namespace vbench
