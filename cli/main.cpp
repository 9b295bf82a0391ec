#include "cli/cli.hpp"

int main(int argc, char** argv) { return vbench::cli_main(argc, argv); }
