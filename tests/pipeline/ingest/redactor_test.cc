#include "pipeline/ingest/redactor.h"

#include <gtest/gtest.h>

namespace skynet::ingest {
namespace {

TEST(RedactorTest, RemovesUrlCredentialsAndPasswordsEverywhere) {
  Redactor r("rtsp://admin:s3cr%40t@10.0.0.5:554/stream1", "optpass");
  EXPECT_EQ(r.url(), "rtsp://***@10.0.0.5:554/stream1");
  const std::string out = r(
      "could not open rtsp://admin:s3cr%40t@10.0.0.5:554/stream1; pw s3cr@t or s3cr%40t, "
      "optpass, other rtsp://bob:pw2@host/x");
  EXPECT_EQ(out.find("s3cr"), std::string::npos) << out;
  EXPECT_EQ(out.find("optpass"), std::string::npos) << out;
  EXPECT_EQ(out.find("pw2"), std::string::npos) << out;
  EXPECT_NE(out.find("rtsp://***@10.0.0.5:554/stream1"), std::string::npos) << out;
}

// Issue 14 item 4: a '/' in the password, and credentials in the query, quoted by GStreamer in
// pieces or whole.
TEST(RedactorTest, RemovesSlashPasswordsAndQueryTokensEverywhere) {
  Redactor r("rtsp://u:Leak/Pw@host/live?channel=1&token=Tok123", "");
  EXPECT_EQ(r.url(), "rtsp://***@host/live?channel=1&token=***");
  const std::string out =
      r("could not open rtsp://u:Leak/Pw@host/live?channel=1&token=Tok123 (token Tok123, "
        "password Leak/Pw); redirected to rtsp://host2/x?api_key=K3y&sig=S1g");
  for (const char* secret : {"Leak", "Tok123", "K3y", "S1g"}) {
    EXPECT_EQ(out.find(secret), std::string::npos) << secret << ": " << out;
  }
  EXPECT_NE(out.find("rtsp://host2/x?api_key=***&sig=***"), std::string::npos) << out;
}

TEST(RedactorTest, LeavesPlainTextAlone) {
  Redactor r("file:///tmp/a@b.mp4", "");
  EXPECT_EQ(r("end of file /tmp/a@b.mp4"), "end of file /tmp/a@b.mp4");
  EXPECT_EQ(r.url(), "file:///tmp/a@b.mp4");
}

}  // namespace
}  // namespace skynet::ingest
