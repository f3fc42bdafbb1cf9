// Role: what a client of the control, feed and replay sockets may do. The config gives each
// client key one (`security.clients[].role`); the ZAP handler passes it on as the "X-Role"
// metadata property, and the control server checks it per command. Header only, so that the
// config (which links no ZeroMQ) and the security code share one spelling.
#pragma once

#include <string_view>

namespace skynet::daemon {

// Ordered: a role may do everything the roles below it may.
enum class Role { kNone = 0, kRead = 1, kAdmin = 2 };

// "none", "read" or "admin".
inline const char* RoleName(Role role) {
  switch (role) {
    case Role::kRead:
      return "read";
    case Role::kAdmin:
      return "admin";
    case Role::kNone:
      break;
  }
  return "none";
}

// "read" or "admin" (never kNone); false, and *out untouched, for anything else.
inline bool ParseRole(std::string_view text, Role* out) {
  for (Role r : {Role::kRead, Role::kAdmin}) {
    if (text == RoleName(r)) {
      *out = r;
      return true;
    }
  }
  return false;
}

}  // namespace skynet::daemon
