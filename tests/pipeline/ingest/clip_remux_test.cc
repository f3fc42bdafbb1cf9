// Clips without re-encoding, at the ingest level: a session's access units (tapped before the
// decoder) go into an EncodedRing, and a clip from a key frame is remuxed into a fragmented MP4
// that ffprobe reads: every unit is there (also on the health tier, which drops delta units
// before the decoder), it starts at a key frame, the size is the camera's.
#include <gtest/gtest.h>

#include <fstream>

#include "pipeline/ingest/camera_session.h"
#include "pipeline/ingest/encoded_ring.h"
#include "pipeline/ingest/mp4_remuxer.h"
#include "tests/pipeline/ingest/ingest_test_util.h"
#include "tests/testing/ffprobe.h"

namespace skynet::ingest {
namespace {

using testing::Recorder;
using testing::TempDir;

// Plays `url` once, as fast as possible, into a ring; returns the ring's units.
std::vector<EncodedUnit> Ingest(const std::string& url, AnalyticsTier tier, EncodedRing* ring) {
  SourceOptions o;
  o.camera_id = "clip";
  o.url = url;
  o.file_loop = false;
  o.file_realtime = false;
  o.analytics = tier;
  Recorder rec;
  CameraSession::Callbacks cb = rec.Callbacks();
  cb.on_encoded = [ring](EncodedUnit&& u) { ring->Push(std::move(u)); };
  auto s = CameraSession::Create(o, std::move(cb));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return {};
  (*s)->Start();
  EXPECT_TRUE(rec.WaitForEos());
  (*s)->Stop();
  return ring->ReadFrom(0, 100000);
}

// Remuxes `units` into `path`.
Status Remux(const std::vector<EncodedUnit>& units, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  auto write = [&out](const uint8_t* p, size_t n) {
    out.write(reinterpret_cast<const char*>(p), static_cast<std::streamsize>(n));
    return out ? Status::Ok() : Status::IoError("write");
  };
  SKYNET_ASSIGN_OR_RETURN(auto mux, Mp4Remuxer::Create(*units.front().format, units.front(), write));
  for (const EncodedUnit& u : units) SKYNET_RETURN_IF_ERROR(mux->Add(u));
  return mux->Finish();
}

class ClipRemuxTest : public ::testing::TestWithParam<AnalyticsTier> {};

TEST_P(ClipRemuxTest, EveryUnitIsTappedAndTheClipPlaysFromAKeyFrame) {
  TempDir dir;
  auto url = testing::MakeTestVideo(
      dir.path(), {.frames = 60, .width = 320, .height = 180, .fps = 15,
                   .encoder = "x264enc key-int-max=15 ! h264parse ! mp4mux"});
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EncodedRing ring({.max_bytes = 16 << 20, .keep_us = 60'000'000});
  std::vector<EncodedUnit> units = Ingest(*url, GetParam(), &ring);
  ASSERT_EQ(units.size(), 60u);  // none lost to the tier's dropping
  EXPECT_TRUE(units.front().key);
  EXPECT_EQ(std::count_if(units.begin(), units.end(), [](auto& u) { return u.key; }), 4);
  // Decode order: with B-frames a unit may show before the one decoded just ahead of it, but
  // decode times increase, and the capture times span the file (4 s at 15 fps).
  for (size_t i = 1; i < units.size(); ++i) {
    EXPECT_GT(units[i].dts_ns, units[i - 1].dts_ns) << i;
    EXPECT_EQ(units[i].format, units.front().format);
  }
  EXPECT_NEAR(units.back().capture_us - units.front().capture_us, 59'000'000 / 15, 200'000);
  EXPECT_EQ(units.front().format->codec, "h264");
  EXPECT_EQ(units.front().format->width, 320);

  // A clip from the second key frame on.
  auto from = ring.KeyFrameAtOrBefore(units[20].capture_us);
  ASSERT_TRUE(from);
  std::vector<EncodedUnit> clip = ring.ReadFrom(*from, 1000);
  ASSERT_EQ(clip.size(), 45u);
  const std::string path = dir.File("clip.mp4");
  ASSERT_TRUE(Remux(clip, path).ok());
  skynet::testing::Probe probe = skynet::testing::Ffprobe(path);
  ASSERT_TRUE(probe.ok) << probe.errors;
  EXPECT_EQ(probe.codec, "h264");
  EXPECT_EQ(probe.width, 320);
  EXPECT_EQ(probe.height, 180);
  ASSERT_EQ(probe.frames.size(), 45u) << probe.errors;
  EXPECT_TRUE(probe.frames.front().key);
  EXPECT_NEAR(probe.frames.back().pts_s - probe.frames.front().pts_s, 44.0 / 15, 0.01);
}

INSTANTIATE_TEST_SUITE_P(Tiers, ClipRemuxTest,
                         ::testing::Values(AnalyticsTier::kFull, AnalyticsTier::kHealth));

}  // namespace
}  // namespace skynet::ingest
