#include "pipeline/core/status.h"

#include <gtest/gtest.h>

namespace skynet {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return Status::InvalidArgument("must be positive");
  return v;
}

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, ErrorNamesCodeAndMessage) {
  Status s = Status::NotFound("camera cam9");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "not found: camera cam9");
}

TEST(ResultTest, HoldsValueOrStatus) {
  auto good = ParsePositive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  auto bad = ParsePositive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace skynet
