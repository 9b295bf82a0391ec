// The kvm driver's host-side parts that need no guest: the cpio writer,
// SHA-256, module metadata, kernel lookup and module ordering, accelerator
// choice, run-state bookkeeping and names.
#include <elf.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>

#include "core/fs.hpp"
#include "core/runstate.hpp"
#include "core/sha256.hpp"
#include "drivers/kvm/accel.hpp"
#include "drivers/kvm/cpio.hpp"
#include "drivers/kvm/guest_kernel.hpp"
#include "drivers/kvm/host_command.hpp"
#include "drivers/kvm/initramfs.hpp"
#include "drivers/kvm/tap.hpp"
#include "skip.hpp"

using namespace vbench;

namespace {

struct TempTree {
  std::string path;
  TempTree() {
    char t[] = "/tmp/vbench-unit-kvm-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempTree() { (void)remove_tree(path); }
};

// A minimal ELF64 relocatable object with a .modinfo section holding
// `fields` (NUL-separated key=value), like a kernel module.
std::string fake_module(const std::vector<std::string>& fields) {
  std::string modinfo;
  for (const auto& f : fields) modinfo += f + std::string(1, '\0');
  const std::string shstr = std::string("\0.modinfo\0.shstrtab\0", 20);
  const size_t modinfo_off = sizeof(Elf64_Ehdr);
  const size_t shstr_off = modinfo_off + modinfo.size();
  size_t shoff = shstr_off + shstr.size();
  shoff = (shoff + 7) & ~size_t{7};
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_REL;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_ehsize = sizeof eh;
  eh.e_shoff = shoff;
  eh.e_shentsize = sizeof(Elf64_Shdr);
  eh.e_shnum = 3;
  eh.e_shstrndx = 2;
  Elf64_Shdr sh[3]{};
  sh[1].sh_name = 1;
  sh[1].sh_type = SHT_PROGBITS;
  sh[1].sh_offset = modinfo_off;
  sh[1].sh_size = modinfo.size();
  sh[2].sh_name = 10;
  sh[2].sh_type = SHT_STRTAB;
  sh[2].sh_offset = shstr_off;
  sh[2].sh_size = shstr.size();
  std::string out(reinterpret_cast<const char*>(&eh), sizeof eh);
  out += modinfo + shstr;
  out.resize(shoff, '\0');
  out.append(reinterpret_cast<const char*>(sh), sizeof sh);
  return out;
}

// A file that passes for a bzImage: the setup header's "HdrS" and version.
std::string fake_bzimage(const std::string& version) {
  std::string img(0x1000, '\0');
  img.replace(0x202, 4, "HdrS");
  const uint16_t off = 0x400 - 0x200;
  img[0x20e] = static_cast<char>(off & 0xff);
  img[0x20f] = static_cast<char>(off >> 8);
  const std::string v = version + " (test@vbench) #1 SMP";
  img.replace(0x400, v.size(), v);
  return img;
}

// Reads a newc archive back independently of the writer: name -> (mode, data).
std::map<std::string, std::pair<uint32_t, std::string>> read_newc(const std::string& a) {
  std::map<std::string, std::pair<uint32_t, std::string>> out;
  size_t pos = 0;
  auto field = [&](size_t i) { return static_cast<uint32_t>(std::stoul(a.substr(pos + 6 + 8 * i, 8), nullptr, 16)); };
  for (;;) {
    REQUIRE(pos % 4 == 0);
    REQUIRE(a.compare(pos, 6, "070701") == 0);
    const uint32_t mode = field(1), size = field(6), namesize = field(11);
    const std::string name = a.substr(pos + 110, namesize - 1);
    REQUIRE(a[pos + 110 + namesize - 1] == '\0');
    size_t data = (pos + 110 + namesize + 3) & ~size_t{3};
    if (name == "TRAILER!!!") {
      REQUIRE(((data + 3) & ~size_t{3}) == a.size());
      return out;
    }
    out[name] = {mode, a.substr(data, size)};
    pos = (data + size + 3) & ~size_t{3};
  }
}

}  // namespace

TEST_CASE("sha256 matches the FIPS 180-4 test vectors", "[kvm]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // One million 'a', fed in uneven pieces to cross block boundaries.
  Sha256 h;
  const std::string chunk(997, 'a');
  size_t left = 1000000;
  while (left > 0) {
    size_t n = std::min(left, chunk.size());
    h.update(std::string_view(chunk.data(), n));
    left -= n;
  }
  CHECK(h.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("cpio writer emits aligned newc entries and a trailer", "[kvm]") {
  CpioWriter w;
  w.add_directory("dev");
  w.add_char_device("dev/console", 5, 1);
  w.add_file("init",
             std::string("\x7f"
                         "ELF and more",
                         13),
             0755);
  w.add_file("a", "");
  w.add_file("lib/modules/vbench/virtio_pci_modern_dev.ko", std::string(1027, 'x'));
  w.add_symlink("sbin", "bin");
  const std::string archive = w.finish();
  auto entries = read_newc(archive);
  REQUIRE(entries.size() == 6);
  CHECK(entries["dev"].first == (S_IFDIR | 0755));
  CHECK(entries["dev/console"].first == (S_IFCHR | 0600));
  CHECK(entries["init"].first == (S_IFREG | 0755));
  CHECK(entries["init"].second == std::string("\x7f"
                                              "ELF and more",
                                              13));
  CHECK(entries["a"].second.empty());
  CHECK(entries["lib/modules/vbench/virtio_pci_modern_dev.ko"].second == std::string(1027, 'x'));
  CHECK(entries["sbin"].first == (S_IFLNK | 0777));
  CHECK(entries["sbin"].second == "bin");
  // The writer is reusable and deterministic (the cache key relies on it).
  CpioWriter w2;
  w2.add_directory("dev");
  w2.add_char_device("dev/console", 5, 1);
  w2.add_file("init",
              std::string("\x7f"
                          "ELF and more",
                          13),
              0755);
  w2.add_file("a", "");
  w2.add_file("lib/modules/vbench/virtio_pci_modern_dev.ko", std::string(1027, 'x'));
  w2.add_symlink("sbin", "bin");
  CHECK(w2.finish() == archive);
}

TEST_CASE("cpio(1) lists and extracts what the writer wrote", "[kvm]") {
  if (find_program("cpio").empty()) {
    VBENCH_SKIP("cpio(1) not installed (ci/bootstrap installs it): cross-check not done");
  }
  TempTree t;
  CpioWriter w;
  w.add_directory("d");
  w.add_file("d/file.txt", "hello\n", 0640);
  w.add_file("x", std::string(5, 'y'));
  REQUIRE(write_file(t.path + "/a.cpio", w.finish()));
  auto list = run_capture({"sh", "-c", "cpio --quiet -i -t < " + t.path + "/a.cpio"});
  REQUIRE(list);
  CHECK(*list == "d\nd/file.txt\nx\n");
  auto extract =
      run_capture({"sh", "-c", "cd " + t.path + " && mkdir out && cd out && cpio --quiet -i -d < ../a.cpio"});
  REQUIRE(extract);
  CHECK(*read_file(t.path + "/out/d/file.txt") == "hello\n");
  CHECK(*read_file(t.path + "/out/x") == "yyyyy");
}

TEST_CASE("modinfo is read from a module's ELF .modinfo section", "[kvm]") {
  auto info = read_modinfo(fake_module(
      {"license=GPL", "depends=virtio,virtio_ring", "alias=a", "alias=b", "vermagic=6.1.0-test SMP mod_unload"}));
  REQUIRE(info);
  CHECK(info->find("depends")->second == "virtio,virtio_ring");
  CHECK(info->count("alias") == 2);
  CHECK(info->find("vermagic")->second == "6.1.0-test SMP mod_unload");
  SECTION("garbage and truncation are errors, not crashes") {
    CHECK_FALSE(read_modinfo("not an elf"));
    const std::string good = fake_module({"depends="});
    for (size_t cut : {size_t{10}, sizeof(Elf64_Ehdr), good.size() - 1}) CHECK_FALSE(read_modinfo(good.substr(0, cut)));
    std::string bad_off = good;
    bad_off[offsetof(Elf64_Ehdr, e_shoff)] = '\x7f';
    bad_off[offsetof(Elf64_Ehdr, e_shoff) + 3] = '\x7f';
    CHECK_FALSE(read_modinfo(bad_off));
  }
}

TEST_CASE("module names and bzImage versions", "[kvm]") {
  CHECK(module_name_of_file("virtio-rng.ko.xz") == "virtio_rng");
  CHECK(module_name_of_file("virtio_pci.ko") == "virtio_pci");
  CHECK(module_name_of_file("net_failover.ko.zst") == "net_failover");
  TempTree t;
  REQUIRE(write_file(t.path + "/vmlinuz", fake_bzimage("6.1.0-56-cloud-amd64")));
  auto v = bzimage_version(t.path + "/vmlinuz");
  REQUIRE(v);
  CHECK(*v == "6.1.0-56-cloud-amd64");
  REQUIRE(write_file(t.path + "/notakernel", std::string(0x1000, 'z')));
  auto bad = bzimage_version(t.path + "/notakernel");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("not a bzImage"));
}

TEST_CASE("guest kernel drivers resolve to modules in dependency order", "[kvm]") {
  TempTree t;
  const std::string ver = "6.1.0-test";
  const std::string img = t.path + "/boot/vmlinuz-" + ver;
  const std::string mods = t.path + "/lib/modules/" + ver;
  REQUIRE(mkdir_p(t.path + "/boot"));
  REQUIRE(mkdir_p(mods + "/kernel/drivers/virtio"));
  REQUIRE(mkdir_p(mods + "/kernel/net"));
  REQUIRE(write_file(img, fake_bzimage(ver)));
  auto mod = [&](const std::string& file, const std::string& deps) {
    REQUIRE(write_file(mods + "/kernel/" + file, fake_module({"depends=" + deps, "vermagic=" + ver + " SMP"})));
  };
  mod("drivers/virtio/virtio_ring.ko", "");
  mod("drivers/virtio/virtio.ko", "virtio_ring");
  mod("drivers/virtio/virtio_pci_modern_dev.ko", "");
  mod("drivers/virtio/virtio_pci.ko", "virtio_ring,virtio_pci_modern_dev,virtio");
  mod("drivers/virtio/virtio_net.ko", "virtio_ring,virtio,net_failover");
  mod("net/failover.ko", "");
  mod("net/net_failover.ko", "failover");
  mod("drivers/virtio/virtio_console.ko", "virtio,virtio_ring");
  // virtio_blk is built in.
  REQUIRE(write_file(mods + "/modules.builtin", "kernel/drivers/block/virtio_blk.ko\nkernel/fs/ext4/ext4.ko\n"));

  auto k = find_guest_kernel(img, "", guest_drivers(Machine::Q35));
  REQUIRE(k);
  CHECK(k->version == ver);
  CHECK(k->modules_dir.find("/lib/modules/" + ver) != std::string::npos);
  CHECK(k->builtin == std::vector<std::string>{"virtio_blk"});
  std::vector<std::string> order;
  for (const auto& m : k->modules) order.push_back(m.name);
  CHECK(order.size() == 8);
  auto at = [&](const std::string& n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
  CHECK(at("virtio_ring") < at("virtio"));
  CHECK(at("virtio") < at("virtio_pci"));
  CHECK(at("virtio_pci_modern_dev") < at("virtio_pci"));
  CHECK(at("failover") < at("net_failover"));
  CHECK(at("net_failover") < at("virtio_net"));
  CHECK(at("virtio") < at("virtio_console"));

  SECTION("a missing driver is a clear error naming it") {
    REQUIRE(::unlink((mods + "/kernel/drivers/virtio/virtio_console.ko").c_str()) == 0);
    auto bad = find_guest_kernel(img, "", guest_drivers(Machine::Q35));
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::Contains("lacks virtio_console"));
  }
  SECTION("a module for another kernel version is rejected") {
    REQUIRE(write_file(mods + "/kernel/net/failover.ko", fake_module({"depends=", "vermagic=5.10.0-other SMP"})));
    auto bad = find_guest_kernel(img, "", guest_drivers(Machine::Q35));
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::Contains("5.10.0-other"));
  }
  SECTION("compressed modules are decompressed") {
    if (find_program("xz").empty()) return;
    REQUIRE(run_capture({"xz", mods + "/kernel/net/failover.ko"}));
    auto kx = find_guest_kernel(img, "", guest_drivers(Machine::Q35));
    REQUIRE(kx);
    auto it = std::find_if(kx->modules.begin(), kx->modules.end(), [](auto& m) { return m.name == "failover"; });
    REQUIRE(it != kx->modules.end());
    CHECK(read_modinfo(it->data));
  }
  SECTION("the initramfs holds the agent as /init, the modules and their order, and is cached") {
    REQUIRE(write_file(t.path + "/agent", "#!agent"));
    const std::string cache = t.path + "/cache";
    auto first = ensure_initramfs(t.path + "/agent", k->modules, cache);
    REQUIRE(first);
    CHECK_FALSE(first->reused);
    auto second = ensure_initramfs(t.path + "/agent", k->modules, cache);
    REQUIRE(second);
    CHECK(second->reused);
    CHECK(second->path == first->path);
    auto entries = read_newc(*read_file(first->path));
    CHECK(entries["init"].second == "#!agent");
    CHECK(entries["init"].first == (S_IFREG | 0755));
    CHECK(entries["dev/console"].first == (S_IFCHR | 0600));
    std::string expected_order;
    for (const auto& n : order) {
      expected_order += n + "\n";
      CHECK(entries.count("lib/modules/vbench/" + n + ".ko") == 1);
    }
    CHECK(entries["lib/modules/vbench/order"].second == expected_order);
    // Another agent is another entry.
    REQUIRE(write_file(t.path + "/agent", "#!agent v2"));
    auto third = ensure_initramfs(t.path + "/agent", k->modules, cache);
    REQUIRE(third);
    CHECK_FALSE(third->reused);
    CHECK(third->hash != first->hash);
  }
}

TEST_CASE("a kernel without a module tree is checked against its config", "[kvm]") {
  TempTree t;
  const std::string ver = "6.1.0-nomods";
  REQUIRE(write_file(t.path + "/vmlinuz-" + ver, fake_bzimage(ver)));
  REQUIRE(write_file(t.path + "/config-" + ver,
                     "#\nCONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO_BLK=y\nCONFIG_VIRTIO_NET=y\nCONFIG_VIRTIO_CONSOLE=m\n"));
  auto k = find_guest_kernel(t.path + "/vmlinuz-" + ver, "", guest_drivers(Machine::Q35));
  REQUIRE_FALSE(k);
  CHECK_THAT(k.error().message, Catch::Contains("virtio_console is a module"));
  REQUIRE(write_file(t.path + "/config-" + ver,
                     "#\nCONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO_BLK=y\nCONFIG_VIRTIO_NET=y\nCONFIG_VIRTIO_CONSOLE=y\n"));
  k = find_guest_kernel(t.path + "/vmlinuz-" + ver, "", guest_drivers(Machine::Q35));
  REQUIRE(k);
  CHECK(k->modules.empty());
  CHECK(k->builtin.size() == 4);
}

TEST_CASE("accelerator choice: hardware KVM only with kvm_intel/kvm_amd", "[kvm]") {
  HostKvm hw;
  hw.device_usable = true;
  hw.hw_module = "kvm_intel";
  HostKvm pvm;
  pvm.device_usable = true;
  pvm.other_module = "kvm_pvm";
  HostKvm none;
  none.device_error = "open `/dev/kvm`: No such file or directory";

  struct Case {
    std::string knob;
    const HostKvm* host;
    bool ok;
    std::string accel;
  };
  for (const auto& c : std::vector<Case>{{"auto", &hw, true, "kvm"},
                                         {"auto", &pvm, true, "tcg"},
                                         {"auto", &none, true, "tcg"},
                                         {"kvm", &hw, true, "kvm"},
                                         {"kvm", &pvm, false, ""},
                                         {"kvm", &none, false, ""},
                                         {"tcg", &hw, true, "tcg"},
                                         {"bogus", &hw, false, ""}}) {
    CAPTURE(c.knob, c.host->describe());
    auto knob = choose(kAccels, "accel", std::string_view(c.knob));
    auto r = knob ? choose_accel(*knob, *c.host) : Result<AccelChoice>(knob.error());
    REQUIRE(r.ok() == c.ok);
    if (c.ok) CHECK(to_string(r->accel) == c.accel);
  }
  CHECK_THAT(choose(kAccels, "accel", std::string_view("bogus")).error().message,
             Catch::Equals("accel = \"bogus\": expected auto, kvm or tcg"));
  auto refused = choose_accel(Accel::Kvm, pvm);
  CHECK_THAT(refused.error().message, Catch::Contains("kvm_pvm"));

  SECTION("detection reads the module directory and the device") {
    TempTree t;
    REQUIRE(mkdir_p(t.path + "/kvm_intel"));
    // /dev/null opens but is not KVM: the device is not usable.
    HostKvm h = detect_host_kvm(t.path, "/dev/null");
    CHECK(h.hw_module == "kvm_intel");
    CHECK_FALSE(h.hardware());
    HostKvm missing = detect_host_kvm(t.path, t.path + "/no-such-kvm");
    CHECK_FALSE(missing.device_usable);
    CHECK_THAT(missing.device_error, Catch::Contains("No such file"));
  }
}

TEST_CASE("tap names fit IFNAMSIZ and differ per run and env", "[kvm]") {
  const std::string tap = tap_name_for("vb-20261121T212723Z-4f2a", "kvm");
  CHECK(tap.size() <= 15);
  CHECK(tap.rfind("vbk", 0) == 0);
  CHECK(tap != tap_name_for("vb-20261121T212723Z-4f2b", "kvm"));
  CHECK(tap != tap_name_for("vb-20261121T212723Z-4f2a", "kvm2"));
}
