#pragma once
namespace vbench {
// The `vbench` command line. The only place that decides the exit code:
// 0 success, 1 the run finished with failures, 2 usage or config error.
int cli_main(int argc, char** argv);
}  // namespace vbench
