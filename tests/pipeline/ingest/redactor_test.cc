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

TEST(RedactorTest, LeavesPlainTextAlone) {
  Redactor r("file:///tmp/a@b.mp4", "");
  EXPECT_EQ(r("end of file /tmp/a@b.mp4"), "end of file /tmp/a@b.mp4");
  EXPECT_EQ(r.url(), "file:///tmp/a@b.mp4");
}

}  // namespace
}  // namespace skynet::ingest
