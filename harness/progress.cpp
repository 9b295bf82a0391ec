#include "harness/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include "core/clock.hpp"
#include "core/escape.hpp"

namespace vbench {

std::string format_clock(double s) {
  if (s < 0 || s != s) return "?";
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
  return fmt::format("{}:{:02}", t / 60, t % 60);
}

Progress::Progress(FILE* out) : out_(out), tty_(isatty(fileno(out)) != 0), t0_(now_s()) {}

void Progress::draw() {
  const double elapsed = now_s() - t0_;
  const double per = done_ ? spent_ / static_cast<double>(done_) : 0;
  const size_t left = total_ > done_ ? total_ - done_ : 0;
  std::string eta = done_ ? format_clock(per * static_cast<double>(left)) : "?";
  std::string line =
      fmt::format("[{}/{}] {}  elapsed {}  ETA {}", done_ + 1, total_, current_, format_clock(elapsed), eta);
  if (line.size() > 119) line = line.substr(0, 116) + "...";
  fmt::print(out_, "\r\033[K{}", line);
  fflush(out_);
  line_open_ = true;
}

// What goes through here names environments, workloads and errors that
// agents, guests and suite files wrote: control characters never reach the
// terminal or the CI log (terminal_safe), newlines only inside messages.
void Progress::begin(const std::string& what) {
  current_ = terminal_safe(what);
  if (tty_) draw();
}

void Progress::end(bool ok, double seconds, const std::string& note) {
  spent_ += seconds;
  ++done_;
  if (!tty_) {
    fmt::print(out_, "[{}/{}] {}: {} ({:.2f} s){}\n", done_, total_, current_, ok ? "ok" : "FAILED", seconds,
               note.empty() ? std::string() : fmt::format(" {}", terminal_safe(note, true)));
    fflush(out_);
  } else if (!ok) {
    message(fmt::format("{}: FAILED {}", current_, note));
  }
}

void Progress::message(const std::string& line) {
  if (tty_ && line_open_) fmt::print(out_, "\r\033[K");
  fmt::print(out_, "{}\n", terminal_safe(line, true));
  fflush(out_);
  line_open_ = false;
}

void Progress::finish() {
  if (tty_ && line_open_) fmt::print(out_, "\r\033[K");
  line_open_ = false;
  fflush(out_);
}

}  // namespace vbench
