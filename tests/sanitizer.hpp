#pragma once
// Whether this test program is built with AddressSanitizer (ci/sanitize):
// gcc says so with __SANITIZE_ADDRESS__, clang with __has_feature. Some
// measurements differ there (shadow memory takes page faults of its own,
// the sanitizer works in forked tasks), and the tests that check them say
// how.
namespace vbtest {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderAsan = true;
#else
inline constexpr bool kUnderAsan = false;
#endif
#else
inline constexpr bool kUnderAsan = false;
#endif

}  // namespace vbtest
