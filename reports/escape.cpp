#include "reports/escape.hpp"

#include <cstdint>

namespace vbench {
namespace {

constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD


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
        return "&apos;";
      case '\t':
      case '\n':
      case '\r':
        return nullptr;
      default:
        return static_cast<unsigned char>(c) < 0x20 ? kReplacement : nullptr;
    }
  });
}

std::string terminal_safe(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

}  // namespace vbench
