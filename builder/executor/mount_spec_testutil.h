// gtest printers for the executor's mount types (mount_spec.h), so that a failed comparison
// shows the fields instead of bytes.
#ifndef LATCHKEY_BUILDER_EXECUTOR_MOUNT_SPEC_TESTUTIL_H_
#define LATCHKEY_BUILDER_EXECUTOR_MOUNT_SPEC_TESTUTIL_H_

#include <ostream>

#include "builder/executor/mount_spec.h"

namespace latchkey::executor {

inline void PrintTo(const BindMount& m, std::ostream* os) {
  *os << "bind{target=" << m.target << " source=" << m.source << " from=" << m.from
      << " readonly=" << m.readonly << "}";
}
inline void PrintTo(const CacheMount& m, std::ostream* os) {
  *os << "cache{id=" << m.id << " target=" << m.target << " from=" << m.from
      << " readonly=" << m.readonly << " sharing=" << static_cast<int>(m.sharing) << " mode=0"
      << std::oct << m.mode << std::dec << " uid=" << m.uid << " gid=" << m.gid << "}";
}
inline void PrintTo(const TmpfsMount& m, std::ostream* os) {
  *os << "tmpfs{target=" << m.target << " size=" << m.size_bytes << "}";
}
inline void PrintTo(const SecretMount& m, std::ostream* os) {
  *os << "secret{id=" << m.id << " target=" << m.target << " env=" << m.env
      << " required=" << m.required << " mode=0" << std::oct << m.mode << std::dec
      << " uid=" << m.uid << " gid=" << m.gid << "}";
}
inline void PrintTo(const SshMount& m, std::ostream* os) {
  *os << "ssh{id=" << m.id << " target=" << m.target << " required=" << m.required << " mode=0"
      << std::oct << m.mode << std::dec << " uid=" << m.uid << " gid=" << m.gid << "}";
}

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_MOUNT_SPEC_TESTUTIL_H_
