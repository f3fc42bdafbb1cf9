// Issue 14 items 4 and 9, hostile URLs: a password with '/', '@', ':', '?', '#' or any other odd
// character, percent-escapes, credentials in the query; ports out of range and unclosed IPv6
// brackets. RedactUrl must never show the secret; ParseUrl must refuse what GStreamer would
// misread, without quoting the secret.
#include <gtest/gtest.h>

#include <string>

#include "pipeline/core/logging.h"
#include "pipeline/core/url.h"

namespace skynet {
namespace {

// Every printable ASCII character that is not a letter or digit, plus a few bytes beyond ASCII.
std::vector<std::string> OddCharacters() {
  std::vector<std::string> out;
  for (int c = 0x20; c < 0x7f; ++c) {
    if (!std::isalnum(c)) out.push_back(std::string(1, static_cast<char>(c)));
  }
  out.push_back("\xc3\xa9");  // é
  out.push_back("%2F");
  out.push_back("%40");
  out.push_back("%3A");
  out.push_back("%25");
  return out;
}

TEST(UrlFaultTest, RedactUrlHidesPasswordsWithEveryOddCharacter) {
  for (const std::string& c : OddCharacters()) {
    const std::string password = "Le" + c + "akPw";
    for (const std::string& tail : {std::string("/stream1"), std::string("/a/b?x=1"),
                                    std::string(""), std::string("/s#frag")}) {
      const std::string url = "rtsp://u:" + password + "@10.0.0.5:554" + tail;
      const std::string shown = RedactUrl(url);
      SCOPED_TRACE("url: " + url + " shown: " + shown);
      EXPECT_EQ(shown.find("akPw"), std::string::npos);
      EXPECT_EQ(shown.find("Le" + c), std::string::npos);
      EXPECT_EQ(shown.rfind("rtsp://***@10.0.0.5:554", 0), 0u);
    }
    // The user name may carry odd characters too.
    const std::string url = "rtsps://Us" + c + "er:pw@cam.example" + "/x";
    EXPECT_EQ(RedactUrl(url), "rtsps://***@cam.example/x") << url;
  }
}

TEST(UrlFaultTest, RedactUrlHidesTheIssuesLeakingUrl) {
  EXPECT_EQ(RedactUrl("rtsp://u:Leak/Pw@host/live/ch1"), "rtsp://***@host/live/ch1");
  EXPECT_EQ(RedactUrl("rtsp://u:Leak%2FPw@host/live"), "rtsp://***@host/live");
  EXPECT_EQ(RedactUrl("rtsp://u:a@b:c@[::1]:8554/x"), "rtsp://***@[::1]:8554/x");
  EXPECT_EQ(RedactUrl("rtsp://u:p?q#r@host/x"), "rtsp://***@host/x");
}

TEST(UrlFaultTest, RedactUrlHidesSecretQueryParameters) {
  for (const char* name :
       {"token", "access_token", "Key", "api_key", "password", "passwd", "pwd", "auth",
        "Authorization", "secret", "client_secret", "sig", "X-Amz-Signature", "credential"}) {
    const std::string url =
        std::string("rtsp://10.0.0.5/live?channel=1&") + name + "=S3cr%2Ft&subtype=0";
    EXPECT_EQ(RedactUrl(url),
              std::string("rtsp://10.0.0.5/live?channel=1&") + name + "=***&subtype=0")
        << url;
  }
  EXPECT_EQ(RedactUrl("rtsp://u:p@h/x?token=t"), "rtsp://***@h/x?token=***");
  EXPECT_EQ(RedactUrl("rtsp://h/x?channel=1"), "rtsp://h/x?channel=1");
  EXPECT_EQ(RedactUrl("file:///tmp/a@b.mp4"), "file:///tmp/a@b.mp4");
  EXPECT_EQ(RedactUrl("not a url"), "not a url");
}

TEST(UrlFaultTest, ParseUrlRefusesPortsOutOfRangeAndUnclosedBrackets) {
  auto error = [](const std::string& url) {
    Result<Url> r = ParseUrl(url);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(error("rtsp://127.0.0.1:99999/x"), "port must be 1..65535, got '99999'");
  EXPECT_EQ(error("rtsp://127.0.0.1:0/x"), "port must be 1..65535, got '0'");
  EXPECT_EQ(error("rtsp://127.0.0.1:-1/x"), "port must be 1..65535, got '-1'");
  EXPECT_EQ(error("rtsp://127.0.0.1:/x"), "port: empty after ':'");
  EXPECT_EQ(error("rtsp://[::1/x"), "IPv6 host: '[' without a closing ']'");
  EXPECT_EQ(error("rtsp://::1/x"), "an IPv6 host must be in brackets, e.g. rtsp://[::1]:8554/x");
  EXPECT_EQ(error("rtsp://[::1]x/y"), "IPv6 host: expected ':port' after ']', got 'x'");
  EXPECT_EQ(error("rtsp://[::1]:8554/x"), "ok");
  EXPECT_EQ(error("rtsp://u:p%2F@10.0.0.5:554/x"), "ok");
  EXPECT_EQ(error("file:///tmp/a@b.mp4"), "ok");
  // A password GStreamer would split at its '/' or '@': refused, and the secret not quoted.
  for (const char* url : {"rtsp://u:Leak/Pw@host/x", "rtsp://u:Le@ak@host/x",
                          "rtsp://u:Le?ak@host/x", "rtsp://u:Le#ak@host/x"}) {
    const std::string e = error(url);
    EXPECT_EQ(e.rfind("the user or password contains", 0), 0u) << url << ": " << e;
    EXPECT_EQ(e.find("ak"), std::string::npos) << e;
  }
  Result<Url> v6 = ParseUrl("rtsp://u:p@[fe80::1%25eth0]:8554/x");
  ASSERT_TRUE(v6.ok()) << v6.status().message();
  EXPECT_EQ(v6->host, "fe80::1%25eth0");
  EXPECT_EQ(v6->port, 8554);
  EXPECT_EQ(v6->parts.password, "p");
}

TEST(UrlFaultTest, ValidUtf8EscapesInvalidBytesOnly) {
  EXPECT_EQ(ValidUtf8("plain"), "plain");
  EXPECT_EQ(ValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(ValidUtf8("a\xff"
                      "b"),
            "a\\xFFb");
  EXPECT_EQ(ValidUtf8("\xc3"), "\\xC3");                    // truncated
  EXPECT_EQ(ValidUtf8("\xc0\xaf"), "\\xC0\\xAF");           // overlong
  EXPECT_EQ(ValidUtf8("\xed\xa0\x80"), "\\xED\\xA0\\x80");  // surrogate
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string fixed = ValidUtf8(all);
  EXPECT_EQ(ValidUtf8(fixed), fixed);  // valid: nothing more to escape
}

}  // namespace
}  // namespace skynet
