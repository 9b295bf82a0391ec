#pragma once
// SHA-256 (FIPS 180-4): keys the initramfs cache by content (drivers/kvm) and
// hashes the HTML report's inline script and style for its Content-Security-Policy.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vbench {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view data);
  // The 32-byte digest; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  // Lower-case hex of digest(), with the same restriction.
  std::string hex_digest();

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view data);

}  // namespace vbench
