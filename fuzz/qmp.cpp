// QMP replies as QEMU (or whatever answers on its socket) sends them: the
// greeting, the capabilities reply, events, a command's reply.
#include "drivers/kvm/qmp.hpp"

#include <sys/socket.h>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 100000) return 0;  // one socket buffer: the write below must not block
  const std::string text = vbfuzz::text(data, size);
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
  int bufsize = 1 << 20;
  ::setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  vbench::UniqueFd peer(sv[1]);
  if (!vbench::write_all(peer.get(), text.data(), text.size())) std::abort();
  ::shutdown(peer.get(), SHUT_WR);  // then EOF: every read ends
  vbench::QmpClient qmp{vbench::UniqueFd(sv[0])};
  if (qmp.handshake(0.2)) {
    (void)qmp.execute("query-status", nullptr, 0.2);
    (void)qmp.execute("query-cpus-fast", nullptr, 0.2);
  }
  return 0;
}
