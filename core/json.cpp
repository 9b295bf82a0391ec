#include "core/json.hpp"

#include <string>
#include <vector>

namespace vbench {

namespace {

using json = nlohmann::json;

// Builds the DOM from SAX events with an explicit stack of open containers.
// Pointers on the stack stay valid: a container only grows while it is the
// innermost open one, and nothing is added to its parent until it is closed.
class BoundedBuilder : public nlohmann::json_sax<json> {
 public:
  BoundedBuilder(json& root, size_t max_depth) : root_(root), max_depth_(max_depth) {}

  bool null() override { return put(json(nullptr)); }
  bool boolean(bool v) override { return put(json(v)); }
  bool number_integer(number_integer_t v) override { return put(json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return put(json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return put(json(v)); }
  bool string(string_t& v) override { return put(json(std::move(v))); }
  bool binary(binary_t&) override {
    error_ = "binary values are not JSON";
    return false;
  }
  bool start_object(std::size_t) override { return open(json::object()); }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return open(json::array()); }
  bool end_array() override {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    // ex.what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    std::string what = ex.what();
    if (auto p = what.find("] "); p != std::string::npos) what.erase(0, p + 2);
    error_ = fmt::format("not valid JSON at byte {}: {}", position, what);
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  bool open(json v) {
    if (stack_.size() >= max_depth_) {
      error_ = fmt::format("nested deeper than {} levels", max_depth_);
      return false;
    }
    json* slot = place(std::move(v));
    stack_.push_back(slot);
    return true;
  }
  bool put(json v) {
    place(std::move(v));
    return true;
  }
  json* place(json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json* top = stack_.back();
    if (top->is_array()) {
      top->push_back(std::move(v));
      return &top->back();
    }
    json& slot = (*top)[key_];
    slot = std::move(v);
    return &slot;
  }

  json& root_;
  size_t max_depth_;
  std::vector<json*> stack_;
  std::string key_;
  std::string error_;
};

}  // namespace

bool is_syntax_error(const Error& e) { return e.message.rfind("not valid JSON", 0) == 0; }

std::string json_string(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<nlohmann::json> parse_json(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes)
    return make_error("JSON document is {} bytes (limit {})", text.size(), limits.max_bytes);
  json out;
  BoundedBuilder b(out, limits.max_depth);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &b);
  } catch (const std::exception& e) {  // nlohmann reports through parse_error; this is a backstop
    return make_error("not valid JSON: {}", e.what());
  }
  if (!ok) return make_error("{}", b.error().empty() ? std::string("not valid JSON") : b.error());
  return out;
}

}  // namespace vbench
