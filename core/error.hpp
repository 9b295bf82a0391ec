#pragma once
// Errors at driver and I/O boundaries: a message that names the object, the
// errno where there was one, and context added by each layer on the way up
// ("container cpu.int: write `cpu.max`: Permission denied").
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace vbench {

struct Error {
  std::string message;
  int err = 0;  // errno, 0 when none

  // Prefix context: Error{"open `x`: No such file"}.context("suite") ->
  // "suite: open `x`: No such file".
  Error context(const std::string& what) const { return Error{what + ": " + message, err}; }
};

// Builds an Error from the current errno: "open `/x`: No such file or directory".
inline Error sys_error(const std::string& what, int e = errno) {
  return Error{fmt::format("{}: {}", what, std::strerror(e)), e};
}

template <typename... Args>
Error make_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error{fmt::format(f, std::forward<Args>(args)...), 0};
}

// A small expected<T, Error>; std::expected is C++23.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T v) : v_(std::move(v)) {}
  Result(Error e) : v_(std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : e_(std::move(e)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return e_; }

 private:
  Error e_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace vbench
