#pragma once
// Parsing and printing of sizes ("256MiB", "4k", "1G") and durations ("5s",
// "200ms", "1.5m"). Size suffixes follow fio: k/m/g/t and KiB/MiB/GiB/TiB are
// powers of 1024; KB/MB/GB/TB are powers of 1000. A bare number is bytes.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace vbench {

Result<uint64_t> parse_size(std::string_view text);
Result<double> parse_duration_s(std::string_view text);  // seconds; a bare number is seconds
Result<int64_t> parse_int(std::string_view text);
Result<double> parse_double(std::string_view text);
Result<bool> parse_bool(std::string_view text);
// "5%", "2.5%" or a bare "5" (read as percent) -> 0.05, 0.025. Must be
// finite and not negative.
Result<double> parse_percent(std::string_view text);

std::string format_size(uint64_t bytes);      // 268435456 -> "256MiB"
std::string format_duration(double seconds);  // 0.2 -> "200ms"

}  // namespace vbench
