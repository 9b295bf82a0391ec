#include "core/escape.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace vbench {
namespace {

constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The character reference for a character that is markup in HTML, or null.
const char* html_entity(char c) {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    case '"':
      return "&quot;";
    case '\'':
      return "&#39;";
    default:
      return nullptr;
  }
}

// What sanitize_text replaces besides invalid UTF-8: C0 controls other than
// tab, newline and carriage return, and DEL.
bool unprintable(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7F;
}

}  // namespace

size_t utf8_sequence(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

std::string utf8_sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

namespace {

// Valid UTF-8 with each byte that replace(c) has a replacement for replaced
// (nullptr: keep it). Bytes of multi-byte sequences are >= 0x80 and never
// replaced.
template <typename Replace>
std::string replace_chars(std::string_view s, Replace replace) {
  const std::string clean = utf8_sanitize(s);
  std::string out;
  out.reserve(clean.size());
  for (char c : clean) {
    if (const char* r = replace(c))
      out += r;
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string xml_escape(std::string_view s) {
  return replace_chars(s, [](char c) -> const char* {
    if (c == '\'') return "&apos;";
    if (const char* entity = html_entity(c)) return entity;
    // XML 1.0 cannot hold C0 controls but tab, newline and carriage return.
    return c != '\t' && c != '\n' && c != '\r' && static_cast<unsigned char>(c) < 0x20 ? kReplacement : nullptr;
  });
}

namespace {

// U+0080..U+009F, encoded as C2 80..C2 9F.
bool is_c1(std::string_view s, size_t i, size_t n) {
  return n == 2 && static_cast<uint8_t>(s[i]) == 0xC2 && static_cast<uint8_t>(s[i + 1]) <= 0x9F;
}

}  // namespace

std::string sanitize_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0 || is_c1(s, i, n) || (n == 1 && unprintable(s[i])))
      out += kReplacement;
    else
      out.append(s.substr(i, n));
    i += n == 0 ? 1 : n;
  }
  return out;
}

std::string html_escape(std::string_view s) {
  return replace_chars(s, [](char c) -> const char* {
    if (const char* entity = html_entity(c)) return entity;
    return unprintable(c) ? kReplacement : nullptr;
  });
}

std::string markdown_escape(std::string_view s) {
  const std::string clean = sanitize_text(s);
  std::string out;
  out.reserve(clean.size() + 16);
  // In a list item, a leading "# ", "- ", "+ ", "1. " or "---" would start a
  // heading, a nested list or a rule. ("*" and "_" are always escaped.)
  const auto blank_at = [&](size_t i) { return i >= clean.size() || clean[i] == ' ' || clean[i] == '\t'; };
  size_t escape_at = std::string::npos, run = 0;
  if (!clean.empty() && (clean[0] == '-' || clean[0] == '+') &&
      (blank_at(1) || (clean[0] == '-' && clean.find_first_not_of("- \t") == std::string::npos &&
                       std::count(clean.begin(), clean.end(), '-') >= 3)))
    escape_at = 0;
  while (run < clean.size() && clean[run] == '#') ++run;
  if (run >= 1 && run <= 6 && blank_at(run)) escape_at = 0;
  size_t digits = 0;
  while (digits < clean.size() && clean[digits] >= '0' && clean[digits] <= '9') ++digits;
  if (digits >= 1 && digits <= 9 && digits < clean.size() && (clean[digits] == '.' || clean[digits] == ')') &&
      blank_at(digits + 1))
    escape_at = digits;
  for (size_t i = 0; i < clean.size(); ++i) {
    const char c = clean[i];
    if (i == escape_at) out += '\\';
    if (c == '&' || c == '<' || c == '>') {  // no raw HTML
      out += html_entity(c);
      continue;
    }
    if (c == '@') {  // no @mentions from a results file in a PR comment
      out += "&#64;";
      continue;
    }
    switch (c) {
      case '\n':
        out += "<br>";
        break;
      case '\r':
        if (i + 1 == clean.size() || clean[i + 1] != '\n') out += "<br>";
        break;
      case '\t':
        out += ' ';
        break;
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '|':
      case '~':
        out += '\\';
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string terminal_safe(std::string_view s, bool keep_newlines) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    const auto c = static_cast<unsigned char>(s[i]);
    if (n == 0 || is_c1(s, i, n) || (n == 1 && (c < 0x20 || c == 0x7F) && !(keep_newlines && c == '\n')))
      out += '?';
    else
      out.append(s.substr(i, n));
    i += n == 0 ? 1 : n;
  }
  return out;
}

std::string csv_defuse(std::string_view s) {
  if (s.empty()) return {};
  const char c = s.front();
  if (c != '=' && c != '+' && c != '-' && c != '@' && c != '\t' && c != '\r') return std::string(s);
  // A number is data, not a formula: "-3.5", "+2", "-1e-3", "-inf", "-nan".
  std::string text(s);
  char* end = nullptr;
  errno = 0;
  (void)std::strtod(text.c_str(), &end);
  if (end == text.c_str() + text.size() && (c == '-' || c == '+')) return text;
  return "'" + text;
}

}  // namespace vbench
