#pragma once
// The one way vbench parses JSON it did not write itself in this process:
// agent replies and requests, a workload child's result, results files,
// history rows, QMP replies, container state files. Every such document is
// untrusted, so parsing is bounded: at most `max_bytes` of text and at most
// `max_depth` levels of arrays/objects. The document is built by a SAX pass
// with an explicit stack, so no input can exhaust the C++ stack while it is
// parsed, and none is ever built deeper than `max_depth` (nlohmann copies and
// compares values recursively, so a deep DOM must never exist at all).
//
// A plain function from bytes to Result, so a fuzz target can call it as is.
// Syntax errors (is_syntax_error) are told apart from refusals by the
// bounds: a reader that tries one format and then another (results.json,
// then results.jsonl) must never retry a document refused as too deep.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/error.hpp"

namespace vbench {

struct JsonLimits {
  size_t max_bytes = size_t{16} << 20;
  size_t max_depth = 64;
};

// Parses exactly one JSON value (surrounding whitespace allowed). Errors name
// the byte offset: "nested deeper than 64 levels at byte 65", "syntax error
// at byte 12: ...", "document is 20971520 bytes (limit 16777216)".
Result<nlohmann::json> parse_json(std::string_view text, const JsonLimits& limits = {});

// True for "this is not JSON" (a torn line, another format); false for a
// document refused by the bounds.
bool is_syntax_error(const Error& e);

// obj[key] when obj is an object and that member is a string, else empty.
// Unlike json::value(key, ""), never throws on a member of another type.
std::string json_string(const nlohmann::json& obj, const char* key);

}  // namespace vbench
