#include "tools/camsim/camera_spec.h"

#include <gtest/gtest.h>

namespace skynet::camsim {
namespace {

TEST(CameraSpecTest, ParsesCliFormWithSizeAndRate) {
  CameraSpec defaults;
  auto a = ParseCameraFlag("cam7:static", defaults);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->name, "cam7");
  EXPECT_EQ(a->scene, "static");
  EXPECT_EQ(a->width, 640);
  auto b = ParseCameraFlag("north:traffic:1280x720@25", defaults);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->width, 1280);
  EXPECT_EQ(b->height, 720);
  EXPECT_EQ(b->fps, 25);
  auto night = ParseCameraFlag("n1:night-rain", defaults);
  ASSERT_TRUE(night.ok()) << night.status().ToString();
  EXPECT_EQ(night->scene, "night-rain");
  auto c = ParseCameraFlag("n:traffic:320x240", defaults);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->fps, 15);
}

TEST(CameraSpecTest, RejectsMalformedCliFormQuotingIt) {
  for (const char* bad : {"cam1", "cam1:rain", "cam1:traffic:640", "cam1:traffic:640x360@",
                          "cam/1:traffic", ":traffic", "cam1:traffic:641x360"}) {
    auto r = ParseCameraFlag(bad, CameraSpec{});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
  }
}

TEST(CameraSpecTest, BFramesAtMostThreeForEitherCodec) {
  CameraSpec s;
  s.name = "b";
  s.bframes = 2;
  EXPECT_TRUE(ValidateCameraSpec(s).ok());
  s.bframes = 4;
  EXPECT_NE(ValidateCameraSpec(s).message().find("bframes must be 0..3, got 4"), std::string::npos);
  s.bframes = 2;
  s.codec = "h265";
  EXPECT_TRUE(ValidateCameraSpec(s).ok());
}

}  // namespace
TEST(CameraSpecTest, PictureFaultsAreKnownNamesOnRenderedScenes) {
  CameraSpec spec{.name = "cam1"};
  for (const char* picture : {"", "cover", "blur", "knock", "freeze", "tint"}) {
    spec.picture = picture;
    EXPECT_TRUE(ValidateCameraSpec(spec).ok()) << picture;
  }
  spec.picture = "smudge";
  EXPECT_EQ(ValidateCameraSpec(spec).message(),
            "camera 'cam1': picture fault must be one of cover, blur, knock, freeze, tint, got "
            "'smudge'");
  spec = {.name = "file1", .scene = "file", .file = "clip.mp4", .picture = "cover"};
  EXPECT_EQ(ValidateCameraSpec(spec).message(),
            "camera 'file1': picture faults need a rendered scene, not a file");
}

}  // namespace skynet::camsim
