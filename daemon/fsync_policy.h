// FsyncPolicy: when the event journal (daemon/journal.h) forces its writes to disk. The config
// spells it `journal.fsync: none | interval | every`. Header only, so that the config (which
// links no journal code) and the journal share one spelling.
#pragma once

#include <string_view>

namespace skynet::daemon {

enum class FsyncPolicy {
  kNone,      // leave it to the kernel (survives a daemon crash, not a power cut)
  kInterval,  // fdatasync at most once per `fsync_interval_ms`
  kEvery,     // fdatasync after every batch, before the batch is published
};

// "none", "interval" or "every".
inline const char* FsyncPolicyName(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kNone:
      return "none";
    case FsyncPolicy::kInterval:
      return "interval";
    case FsyncPolicy::kEvery:
      return "every";
  }
  return "interval";
}

// The policy of that name; false, and *out untouched, for anything else.
inline bool ParseFsyncPolicy(std::string_view text, FsyncPolicy* out) {
  for (FsyncPolicy p : {FsyncPolicy::kNone, FsyncPolicy::kInterval, FsyncPolicy::kEvery}) {
    if (text == FsyncPolicyName(p)) {
      *out = p;
      return true;
    }
  }
  return false;
}

}  // namespace skynet::daemon
