// CurveZMQ key files, shared by skynetd, skynetctl and integrators (library skynet_protocol,
// installed with libskynet-client; it depends on libzmq only, not on daemon internals).
//
// `skynetctl keygen BASE` writes BASE.key (mode 0600: public and secret key) and BASE.pub
// (mode 0644: public key only). Both are text, one "name: value" per line, keys in Z85:
//   public-key: rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7
//   secret-key: JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6
// A secret key file that group or others may access is refused (PermissionDenied), like ssh does.
#pragma once

#include <string>
#include <string_view>

#include "pipeline/core/status.h"

namespace skynet::keys {

struct KeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters
};

// A fresh key pair (libzmq's zmq_curve_keypair). Unavailable if libzmq lacks CURVE.
Result<KeyPair> GenerateKeyPair();

// Writes BASE.key (0600) and BASE.pub (0644). AlreadyExists if either exists: keys are never
// overwritten by accident.
Status WriteKeyFiles(const std::string& base, const KeyPair& pair);

// Reads a .key file. PermissionDenied if its mode gives group or others any access; InvalidArgument
// if it holds no valid key pair.
Result<KeyPair> LoadKeyPair(const std::string& path);

// A public key given as 40 characters of Z85 text, or as the path of a .pub or .key file.
Result<std::string> LoadPublicKey(const std::string& key_or_path);

// Why `text` is not a CurveZMQ key in Z85 text (40 characters of the Z85 alphabet that decode to
// 32 bytes), e.g. "must be 40 characters of Z85 text, got 12"; empty if it is one.
std::string Z85KeyError(std::string_view text);
// True for 40 characters of the Z85 alphabet that decode to 32 bytes (Z85KeyError() is empty).
bool IsZ85Key(std::string_view text);

}  // namespace skynet::keys
