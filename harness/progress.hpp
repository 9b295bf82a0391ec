#pragma once
// Live progress: on a terminal one status line rewritten in place (what runs
// now, n of m, elapsed, ETA); otherwise one plain line per finished sample.
#include <cstdio>
#include <string>

namespace vbench {

class Progress {
 public:
  explicit Progress(FILE* out = stderr);
  void set_total(size_t total) { total_ = total; }
  void add_total(size_t n) { total_ += n; }
  void begin(const std::string& what);
  void end(bool ok, double seconds, const std::string& note = "");
  // A line that must not be overwritten (warnings, env start/stop).
  void message(const std::string& line);
  void finish();

 private:
  void draw();
  FILE* out_;
  bool tty_;
  size_t done_ = 0, total_ = 0;
  double t0_;
  double spent_ = 0;  // seconds spent in finished samples
  std::string current_;
  bool line_open_ = false;
};

std::string format_clock(double seconds);  // 75 -> "1:15"

}  // namespace vbench
