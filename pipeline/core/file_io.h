// File helpers on POSIX descriptors, for the daemon's own files (journal, evidence).
// Pure functions of their arguments: any thread.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace skynet {

// write(2) until all `size` bytes are written (EINTR retried). False with errno set (ENOSPC on a
// full disk) on failure; the bytes before it may have been written.
inline bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace skynet
