#include "skynet/keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

namespace skynet::keys {
namespace {

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Reads "name: value" lines; '#' starts a comment line.
std::string Field(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (Trim(line.substr(0, colon)) == name) return Trim(line.substr(colon + 1));
  }
  return "";
}

Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return Status::AlreadyExists(path + ": exists; not overwriting a key");
    return Status::IoError(path + ": cannot create: " + std::strerror(errno));
  }
  ::fchmod(fd, mode);  // whatever the umask
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) return Status::IoError(path + ": cannot write");
  return Status::Ok();
}

}  // namespace

std::string Z85KeyError(std::string_view text) {
  static constexpr std::string_view kZ85 =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (text.size() != 40) {
    return "must be 40 characters of Z85 text, got " + std::to_string(text.size());
  }
  // Each group of 5 characters is a base-85 number that must fit in 4 bytes.
  for (size_t group = 0; group < text.size(); group += 5) {
    uint64_t value = 0;
    for (size_t i = group; i < group + 5; ++i) {
      const size_t digit = kZ85.find(text[i]);
      if (digit == std::string_view::npos) return "is not Z85 text";
      value = value * 85 + digit;
    }
    if (value > UINT32_MAX) return "is not Z85 text";
  }
  return "";
}

bool IsZ85Key(std::string_view text) { return Z85KeyError(text).empty(); }

Result<KeyPair> GenerateKeyPair() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Status::Unavailable("cannot generate a CurveZMQ key pair: " +
                               std::string(zmq_strerror(zmq_errno())) +
                               " (libzmq built without CURVE?)");
  }
  return KeyPair{pub, sec};
}

Status WriteKeyFiles(const std::string& base, const KeyPair& pair) {
  for (const char* ext : {".key", ".pub"}) {
    if (::access((base + ext).c_str(), F_OK) == 0) {
      return Status::AlreadyExists(base + ext + ": exists; not overwriting a key");
    }
  }
  SKYNET_RETURN_IF_ERROR(WriteFile(base + ".key",
                                   "# skynet CurveZMQ key pair. Keep secret: mode 0600.\n"
                                   "public-key: " + pair.public_key + "\n" +
                                   "secret-key: " + pair.secret_key + "\n",
                                   0600));
  return WriteFile(base + ".pub",
                   "# skynet CurveZMQ public key: give it to the peer (config or --server-key).\n"
                   "public-key: " + pair.public_key + "\n",
                   0644);
}

Result<KeyPair> LoadKeyPair(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound(path + ": cannot read key file: " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::PermissionDenied(path + ": secret key file is accessible by group or others "
                                    "(mode " + mode + "); refusing it: chmod 600 " + path);
  }
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  if (!in) return Status::IoError(path + ": cannot read key file");
  KeyPair pair{Field(buf.str(), "public-key"), Field(buf.str(), "secret-key")};
  if (!IsZ85Key(pair.public_key) || !IsZ85Key(pair.secret_key)) {
    return Status::InvalidArgument(path + ": not a key pair file (expected 'public-key:' and "
                                   "'secret-key:' lines with 40 Z85 characters each)");
  }
  // The public key must belong to the secret key.
  uint8_t secret[32];
  char derived[41];
  zmq_z85_decode(secret, pair.secret_key.c_str());
  if (zmq_curve_public(derived, pair.secret_key.c_str()) == 0 && pair.public_key != derived) {
    return Status::InvalidArgument(path + ": public-key does not match secret-key");
  }
  return pair;
}

Result<std::string> LoadPublicKey(const std::string& key_or_path) {
  if (IsZ85Key(key_or_path) && ::access(key_or_path.c_str(), F_OK) != 0) return key_or_path;
  std::ifstream in(key_or_path);
  if (!in) {
    return Status::NotFound("'" + key_or_path + "' is neither a 40-character Z85 key nor a " +
                            "readable key file");
  }
  std::stringstream buf;
  buf << in.rdbuf();
  std::string key = Field(buf.str(), "public-key");
  if (!IsZ85Key(key)) return Status::InvalidArgument(key_or_path + ": no valid 'public-key:' line");
  return key;
}

}  // namespace skynet::keys
