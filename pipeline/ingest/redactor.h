// Redactor: strips one camera's credentials from any text before it is logged or reported.
//
// Private to skynet_ingest. Covers the URL (rtsp://user:pw@host/x?token=t ->
// rtsp://***@host/x?token=***, split by pipeline/core/url.h), the
// password option and the password embedded in the URL (raw and percent-decoded).
// Immutable after construction: safe to share between threads.
#pragma once

#include <string>
#include <vector>

namespace skynet::ingest {

class Redactor {
 public:
  Redactor(const std::string& url, const std::string& password);
  std::string operator()(std::string text) const;
  const std::string& url() const { return redacted_url_; }  // the URL, safe to log

 private:
  std::string url_;
  std::string redacted_url_;
  std::vector<std::string> secrets_;
};

}  // namespace skynet::ingest
