#pragma once
// Escaping for strings that come from results (metric names, errors, host
// names, guest output): a results file is input, and a hostile or broken
// guest must not be able to inject markup into a report, a CI page or a
// terminal.
#include <string>
#include <string_view>

namespace vbench {

// Length of the valid UTF-8 sequence at s[i] (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0 when it is not one.
size_t utf8_sequence(std::string_view s, size_t i);

// Valid UTF-8: every invalid byte sequence becomes U+FFFD.
std::string utf8_sanitize(std::string_view s);

// XML 1.0 text and attribute values (JUnit, SVG): & < > " ' as entities,
// control characters XML cannot hold (all below 0x20 but tab, newline and
// carriage return) as U+FFFD, invalid UTF-8 as U+FFFD.
std::string xml_escape(std::string_view s);

// Valid UTF-8, with invalid sequences, C0 controls other than tab, newline
// and carriage return, DEL, and C1 controls (U+0080..U+009F: U+009B is a
// CSI to some terminals) replaced by U+FFFD: whatever a broken or hostile
// guest sent shows up as visible replacement characters, never as markup or
// terminal escapes.
std::string sanitize_text(std::string_view s);

// For HTML text and for attribute values quoted with " or ' (inline SVG
// too): sanitize_text, then & < > " ' as entities.
std::string html_escape(std::string_view s);

// One Markdown table cell or list item (GitHub-flavoured): & < > as entities
// (no raw HTML), `@` as an entity (no mentions), Markdown punctuation and `|`
// backslash-escaped, line breaks as <br>, a leading list/heading marker
// escaped.
std::string markdown_escape(std::string_view s);

// For a terminal or a log: C0 and C1 control characters (escape sequences
// included), DEL and invalid UTF-8 as `?`. With keep_newlines, '\n' stays
// (a multi-line message such as a guest's console tail); '\r' never does.
std::string terminal_safe(std::string_view s, bool keep_newlines = false);

// One CSV cell's text defused against formula injection (OWASP "CSV
// Injection"): text starting with = + - @, tab or carriage return gets a
// leading single quote, so a spreadsheet shows it instead of evaluating it.
// A cell that is a number ("-3.5", "+1e3") is left alone: numbers must stay
// numbers.
std::string csv_defuse(std::string_view s);

}  // namespace vbench
