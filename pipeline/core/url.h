// Camera URLs: the one place that says where the user, password, host, port and query of a URL
// are. Config validation (ParseUrl) and redaction (RedactUrl, ingest's Redactor) both split URLs
// here, so what the validator accepts is exactly what redaction understands.
//
//   rtsp://user:pw@host:554/path?token=abc   ->  rtsp://***@host:554/path?token=***
//
// The userinfo ends at the LAST '@' after "://" (unless the rest starts with '/', as in
// file:///a@b.mp4): a password with an unescaped '/', '?', '#' or '@' is still recognised as a
// password and redacted, and ParseUrl refuses it (it must be percent-encoded, %2F, or be given as
// `password:`). Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>

#include "pipeline/core/status.h"

namespace skynet {

// The lexical parts of "scheme://userinfo@authority/path?query#fragment". Never fails: parts
// that are absent are empty (`has_userinfo` tells "u@" from none).
struct UrlParts {
  std::string scheme;  // "rtsp", without "://"; empty: no "://" at all
  bool has_userinfo = false;
  std::string userinfo;        // "user:pw" as written (percent-escapes kept)
  std::string user, password;  // userinfo split at its first ':'
  std::string authority;       // "host:port", "[::1]:8554"
  std::string path;            // from the first '/' after the authority, without query and fragment
  bool has_query = false;
  std::string query;     // after '?', without the fragment
  std::string fragment;  // after '#'
};
UrlParts SplitUrl(std::string_view url);

// A checked URL: SplitUrl plus the host and port. Errors (no place; the caller adds the field)
// never quote the userinfo:
//   "port must be 1..65535, got '99999'"   "IPv6 host: '[' without a closing ']'"
struct Url {
  UrlParts parts;
  std::string host;  // "10.0.0.5", "::1" (without brackets), "" for file:///x
  int port = 0;      // 0: none given
};
Result<Url> ParseUrl(std::string_view url);

// True for query parameter names that carry a credential: token, key, password, auth, secret,
// sig... (case-insensitive, also as part of a name: api_key, X-Amz-Signature).
bool IsSecretQueryName(std::string_view name);

// The URL safe to show: userinfo replaced by "***" ("rtsp://***@host/x") and the values of secret
// query parameters by "***". Text that is not a URL is returned unchanged.
std::string RedactUrl(std::string_view url);

// `text` as valid UTF-8: every byte that is not part of a well-formed UTF-8 sequence becomes
// "\xNN" (so protobuf strings, JSON and logs never carry invalid UTF-8).
std::string ValidUtf8(std::string_view text);

}  // namespace skynet
