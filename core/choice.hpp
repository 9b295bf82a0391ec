#pragma once
// A setting with a fixed set of values, written once as a table of names and
// enum values: the knob's declared choices (shown by `vbench list`, checked by
// normalize_param), the parse into the enum and the name back all read the
// same table, so a value cannot be accepted by one and unknown to another.
//
//   enum class DiskAio { IoUring, Native, Threads };
//   constexpr Choices<DiskAio, 3> kDiskAio{{{"io_uring", DiskAio::IoUring}, ...}};
//   ParamSpec{"disk_aio", ParamType::String, "io_uring", "...", false, choice_names(kDiskAio)}
//   auto aio = choose(kDiskAio, "disk_aio", knobs["disk_aio"]);  // Result<DiskAio>
//   name_of(kDiskAio, DiskAio::Native)                             // "native"
#include <array>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace vbench {

template <class E>
struct Choice {
  std::string_view name;
  E value;
};

template <class E, size_t N>
using Choices = std::array<Choice<E>, N>;

template <class E, size_t N>
std::vector<std::string> choice_names(const Choices<E, N>& table) {
  std::vector<std::string> out;
  for (const auto& c : table) out.emplace_back(c.name);
  return out;
}

// "a, b or c"
template <class E, size_t N>
std::string choice_list(const Choices<E, N>& table) {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    if (i > 0) out += i + 1 == N ? " or " : ", ";
    out += table[i].name;
  }
  return out;
}

template <class E, size_t N>
constexpr std::string_view name_of(const Choices<E, N>& table, E value) {
  for (const auto& c : table)
    if (c.value == value) return c.name;
  return "?";
}

// `setting` names what is parsed in the error: "disk_aio = \"x\": expected
// io_uring, native or threads".
template <class E, size_t N>
Result<E> choose(const Choices<E, N>& table, std::string_view setting, std::string_view text) {
  for (const auto& c : table)
    if (c.name == text) return c.value;
  return make_error("{} = \"{}\": expected {}", setting, text, choice_list(table));
}

template <class E, size_t N>
Result<E> choose(const Choices<E, N>& table, std::string_view setting, const nlohmann::json& value) {
  if (!value.is_string())
    return make_error("{}: expected one of {}, not {}", setting, choice_list(table), value.dump());
  return choose(table, setting, std::string_view(value.get_ref<const std::string&>()));
}

// Sets `out` from `value`: for filling a config's fields one after another.
template <class E, size_t N>
Status choose_into(E& out, const Choices<E, N>& table, std::string_view setting, const nlohmann::json& value) {
  auto v = choose(table, setting, value);
  if (!v) return v.error();
  out = *v;
  return {};
}

}  // namespace vbench
