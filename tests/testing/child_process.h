// ChildProcess: runs one of the project's binaries as a user would, for integration tests.
//
// stdout is captured and read line by line with a deadline; stderr goes to a file (or is
// inherited). The child is killed (SIGKILL) on destruction if it is still running.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace skynet::testing {

class ChildProcess {
 public:
  // Starts `binary` with `args`. stderr goes to `stderr_path` when non-empty.
  ChildProcess(const std::string& binary, std::vector<std::string> args,
               const std::string& stderr_path = "") {
    args.insert(args.begin(), binary);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    if (pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    if (!stderr_path.empty()) {
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                       O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    // The test binary may block signals; the child starts with an empty mask.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    if (posix_spawn(&pid_, argv[0], &actions, &attr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fds[0];
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // The next stdout line, or nullopt on EOF or when `timeout` passes.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || out_ < 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      const ssize_t n = read(out_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Sends `sig`, then waits for the exit. Returns the exit code, or -1 if the child did not
  // exit normally within `timeout` (killed by a signal, or still running).
  int SignalAndWait(int sig, std::chrono::milliseconds timeout) {
    if (pid_ > 0) kill(pid_, sig);
    return Wait(timeout);
  }

  int Wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      poll(nullptr, 0, 20);  // waitpid has no timeout
    }
    return -1;
  }

  // True while the child has not exited.
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
};

// Path of a built binary, from SKYNET_BUILD_DIR (set by ctest; else the build directory the
// test was compiled for) and its place in the tree.
inline std::string BuildPath(const std::string& relative) {
  const char* dir = std::getenv("SKYNET_BUILD_DIR");
#ifdef SKYNET_BUILD_DIR_DEFAULT
  if (dir == nullptr) dir = SKYNET_BUILD_DIR_DEFAULT;
#endif
  return std::string(dir ? dir : ".") + "/" + relative;
}

// Path of a file of the source tree (the tree the test was compiled from).
inline std::string SourcePath(const std::string& relative) {
#ifdef SKYNET_SOURCE_DIR_DEFAULT
  return std::string(SKYNET_SOURCE_DIR_DEFAULT) + "/" + relative;
#else
  return relative;
#endif
}

// Runs the built binary `relative` (BuildPath) with `args` to its end: its stdout lines go to
// *out when given, its stderr to `stderr_path`. Returns the exit code, or -1 if it did not start
// or finish within `timeout`.
inline int RunToCompletion(const std::string& relative, const std::vector<std::string>& args,
                           const std::string& stderr_path, std::vector<std::string>* out = nullptr,
                           std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  ChildProcess p(BuildPath(relative), args, stderr_path);
  if (!p.started()) return -1;
  while (auto line = p.ReadLine(timeout)) {
    if (out) out->push_back(*line);
  }
  return p.Wait(timeout);
}

}  // namespace skynet::testing
