#include "pipeline/core/logging.h"

#include <gtest/gtest.h>

namespace skynet {
namespace {

TEST(RedactUrlTest, RemovesUserAndPassword) {
  EXPECT_EQ(RedactUrl("rtsp://admin:s3cret@10.0.0.5:554/stream1"), "rtsp://***@10.0.0.5:554/stream1");
  EXPECT_EQ(RedactUrl("rtsp://admin@cam/x"), "rtsp://***@cam/x");
}

TEST(RedactUrlTest, LeavesPlainUrlsAlone) {
  EXPECT_EQ(RedactUrl("rtsp://127.0.0.1:8554/cam1"), "rtsp://127.0.0.1:8554/cam1");
  EXPECT_EQ(RedactUrl("file:///tmp/a@b.mp4"), "file:///tmp/a@b.mp4");
}

TEST(RedactSecretsTest, ReplacesEveryOccurrence) {
  EXPECT_EQ(RedactSecrets("pw=hunter2 again hunter2", {"hunter2", ""}), "pw=*** again ***");
}

}  // namespace
}  // namespace skynet
