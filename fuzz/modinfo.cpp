// Kernel module files: vbench reads each module's ELF `.modinfo` section
// (its `depends=`) instead of modules.dep, which Debian does not ship (see
// drivers/kvm/guest_kernel.hpp). Module files come from the suite's
// `kernel_modules` directory or a kernel package: not vbench's own bytes.
// The same bytes are also read as a guest kernel image (bzimage_version).
#include "drivers/kvm/guest_kernel.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string elf = vbfuzz::text(data, size);
  (void)vbench::read_modinfo(elf);
  (void)vbench::module_name_of_file(elf);
  vbfuzz::MemFile image(elf);
  (void)vbench::bzimage_version(image.path);
  return 0;
}
