// Tmpfs: a small tmpfs mounted for a disk-full test, and Fill(), which fills a filesystem up.
// Mounting needs root (CAP_SYS_ADMIN); where it is refused, mounted() is false and the test
// skips itself.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace skynet::testing {

// A tmpfs of `bytes` at `dir`, unmounted (lazily) on destruction; mounted() false where the
// process may not mount.
class Tmpfs {
 public:
  Tmpfs(const std::string& dir, size_t bytes) : dir_(dir) {
    std::filesystem::create_directories(dir);
    const std::string opts = "size=" + std::to_string(bytes) + ",mode=0750";
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0;
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
  bool mounted() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

// Fills the filesystem of `path` (a new file) until it refuses; returns the bytes written.
inline size_t Fill(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  const std::string block(4096, 'f');
  size_t total = 0;
  while (true) {
    const ssize_t n = ::write(fd, block.data(), block.size());
    if (n <= 0) break;
    total += static_cast<size_t>(n);
  }
  ::close(fd);
  return total;
}

}  // namespace skynet::testing
