#include "pipeline/core/url.h"

#include <cctype>
#include <cstdio>

namespace skynet {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ValidScheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// Length of the well-formed UTF-8 sequence at s[i], or 0 (Unicode Table 3-7).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

UrlParts SplitUrl(std::string_view url) {
  UrlParts p;
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos || !ValidScheme(url.substr(0, sep))) return p;
  p.scheme = std::string(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);
  // Userinfo first, up to the last '@': an unescaped '/', '?' or '#' in a password must not
  // push the password into the host, path or query (where nothing would redact it).
  if (!rest.empty() && rest.front() != '/') {
    const size_t at = rest.rfind('@');
    if (at != std::string_view::npos) {
      p.has_userinfo = true;
      p.userinfo = std::string(rest.substr(0, at));
      const size_t colon = p.userinfo.find(':');
      p.user = p.userinfo.substr(0, colon);
      if (colon != std::string::npos) p.password = p.userinfo.substr(colon + 1);
      rest = rest.substr(at + 1);
    }
  }
  const size_t hash = rest.find('#');
  if (hash != std::string_view::npos) {
    p.fragment = std::string(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  const size_t question = rest.find('?');
  if (question != std::string_view::npos) {
    p.has_query = true;
    p.query = std::string(rest.substr(question + 1));
    rest = rest.substr(0, question);
  }
  const size_t slash = rest.find('/');
  p.authority = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) p.path = std::string(rest.substr(slash));
  return p;
}

Result<Url> ParseUrl(std::string_view text) {
  Url url;
  url.parts = SplitUrl(text);
  const UrlParts& p = url.parts;
  if (p.scheme.empty()) return Status::InvalidArgument("not a URL (scheme://...)");
  if (p.has_userinfo && p.userinfo.find_first_of("/?#@") != std::string::npos) {
    return Status::InvalidArgument(
        "the user or password contains '/', '?', '#' or '@': percent-encode it (%2F, %3F, %23, "
        "%40) or give the password in password, password_file or password_env");
  }
  std::string_view a = p.authority;
  std::string_view port;
  if (!a.empty() && a.front() == '[') {
    const size_t close = a.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("IPv6 host: '[' without a closing ']'");
    }
    url.host = std::string(a.substr(1, close - 1));
    if (url.host.empty()) return Status::InvalidArgument("IPv6 host: empty brackets");
    const std::string address = url.host.substr(0, url.host.find('%'));  // before a zone id
    if (address.empty() ||
        address.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos) {
      return Status::InvalidArgument("IPv6 host: '" + ValidUtf8(url.host) +
                                     "' is not an IPv6 address");
    }
    std::string_view after = a.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return Status::InvalidArgument("IPv6 host: expected ':port' after ']', got '" +
                                       ValidUtf8(after) + "'");
      }
      port = after.substr(1);
      if (port.empty()) return Status::InvalidArgument("port: empty after ':'");
    }
  } else {
    if (a.find(']') != std::string_view::npos) {
      return Status::InvalidArgument("IPv6 host: ']' without an opening '['");
    }
    const size_t colon = a.find(':');
    if (colon != std::string_view::npos && a.find(':', colon + 1) != std::string_view::npos) {
      return Status::InvalidArgument("an IPv6 host must be in brackets, e.g. rtsp://[::1]:8554/x");
    }
    url.host = std::string(a.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = a.substr(colon + 1);
      if (port.empty()) return Status::InvalidArgument("port: empty after ':'");
    }
  }
  if (!port.empty()) {
    long value = 0;
    bool digits = port.size() <= 5;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c))) digits = false;
    }
    if (digits) value = std::stol(std::string(port));
    if (!digits || value < 1 || value > 65535) {
      return Status::InvalidArgument("port must be 1..65535, got '" + ValidUtf8(port) + "'");
    }
    url.port = static_cast<int>(value);
  }
  return url;
}

bool IsSecretQueryName(std::string_view name) {
  static constexpr std::string_view kWords[] = {"token", "key",    "pass", "pwd",
                                                "auth",  "secret", "sig",  "cred"};
  const std::string lower = Lower(name);
  for (std::string_view w : kWords) {
    if (lower.find(w) != std::string::npos) return true;
  }
  return false;
}

std::string RedactUrl(std::string_view url) {
  const UrlParts p = SplitUrl(url);
  if (p.scheme.empty() || (!p.has_userinfo && !p.has_query)) return std::string(url);
  std::string out = p.scheme + "://";
  if (p.has_userinfo) out += "***@";
  out += p.authority + p.path;
  if (p.has_query) {
    out += '?';
    size_t start = 0;
    while (start <= p.query.size()) {
      size_t end = p.query.find('&', start);
      if (end == std::string::npos) end = p.query.size();
      const std::string_view param = std::string_view(p.query).substr(start, end - start);
      const size_t eq = param.find('=');
      if (start > 0) out += '&';
      if (eq != std::string_view::npos && IsSecretQueryName(param.substr(0, eq))) {
        out += std::string(param.substr(0, eq)) + "=***";
      } else {
        out += std::string(param);
      }
      start = end + 1;
    }
  }
  if (!p.fragment.empty()) out += "#" + p.fragment;
  return out;
}

std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = Utf8SequenceLength(text, i);
    if (n == 0) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned char>(text[i]));
      out += buf;
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace skynet
