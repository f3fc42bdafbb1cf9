#include "pipeline/ingest/redactor.h"

#include "pipeline/core/logging.h"
#include "pipeline/core/url.h"

namespace skynet::ingest {
namespace {

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void Replace(std::string& text, const std::string& what, const std::string& with) {
  if (what.empty()) return;
  for (size_t pos = 0; (pos = text.find(what, pos)) != std::string::npos; pos += with.size()) {
    text.replace(pos, what.size(), with);
  }
}

}  // namespace

Redactor::Redactor(const std::string& url, const std::string& password)
    : url_(url), redacted_url_(RedactUrl(url)) {
  if (!password.empty()) secrets_.push_back(password);
  // The URL's own password, as written and percent-decoded: libraries quote it in their errors.
  const UrlParts parts = SplitUrl(url);
  if (!parts.password.empty()) {
    secrets_.push_back(parts.password);
    const std::string decoded = PercentDecode(parts.password);
    if (decoded != parts.password && !decoded.empty()) secrets_.push_back(decoded);
  }
  // Credentials in the query (?token=...), for the same reason.
  size_t start = 0;
  while (parts.has_query && start < parts.query.size()) {
    size_t end = parts.query.find('&', start);
    if (end == std::string::npos) end = parts.query.size();
    const std::string param = parts.query.substr(start, end - start);
    const size_t eq = param.find('=');
    if (eq != std::string::npos && eq + 1 < param.size() &&
        IsSecretQueryName(param.substr(0, eq))) {
      secrets_.push_back(param.substr(eq + 1));
    }
    start = end + 1;
  }
}

std::string Redactor::operator()(std::string text) const {
  if (url_ != redacted_url_) Replace(text, url_, redacted_url_);
  for (const std::string& s : secrets_) Replace(text, s, "***");
  // Any other URL with credentials (e.g. after a redirect) loses them too.
  if (text.find("://") != std::string::npos &&
      (text.find('@') != std::string::npos || text.find('?') != std::string::npos)) {
    std::string out;
    size_t pos = 0;
    while (true) {
      const size_t scheme = text.find("://", pos);
      if (scheme == std::string::npos) break;
      size_t start = scheme;
      while (start > pos && std::isalpha(static_cast<unsigned char>(text[start - 1]))) --start;
      size_t end = text.find_first_of(" \t\n\"'<>", scheme);
      if (end == std::string::npos) end = text.size();
      out += text.substr(pos, start - pos);
      out += RedactUrl(text.substr(start, end - start));
      pos = end;
    }
    out += text.substr(pos);
    text = std::move(out);
  }
  return text;
}

}  // namespace skynet::ingest
