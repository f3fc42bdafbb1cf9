#include "pipeline/ingest/h264_nal.h"

#include <gtest/gtest.h>

#include <vector>

namespace skynet::ingest {
namespace {

// NAL headers: forbidden bit 0, nal_ref_idc, type.
constexpr uint8_t Nal(int ref_idc, int type) { return uint8_t(ref_idc << 5 | type); }

std::vector<uint8_t> LengthPrefixed(const std::vector<std::vector<uint8_t>>& units) {
  std::vector<uint8_t> out;
  for (const auto& u : units) {
    const uint32_t n = static_cast<uint32_t>(u.size());
    out.insert(out.end(), {uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)});
    out.insert(out.end(), u.begin(), u.end());
  }
  return out;
}

bool Disposable(const std::vector<uint8_t>& au, int nal_length_size) {
  return H264AccessUnitIsDisposable(au.data(), au.size(), nal_length_size);
}

TEST(H264NalTest, NonReferenceSlicesAreDisposable) {
  EXPECT_TRUE(Disposable(LengthPrefixed({{Nal(0, 1), 0x88, 0x84}}), 4));
  EXPECT_TRUE(Disposable(LengthPrefixed({{Nal(0, 9), 0x10}, {Nal(0, 1), 0x88}}), 4));  // AUD
  EXPECT_TRUE(Disposable({0, 0, 0, 1, Nal(0, 1), 0x88, 0, 0, 1, Nal(0, 1), 0x9a}, 0));
}

TEST(H264NalTest, ReferenceSlicesAndKeyFramesAreKept) {
  EXPECT_FALSE(Disposable(LengthPrefixed({{Nal(2, 1), 0x88}}), 4));
  EXPECT_FALSE(Disposable(LengthPrefixed({{Nal(3, 7), 1}, {Nal(3, 8), 1}, {Nal(3, 5), 0x88}}), 4));
  // One reference slice among non-reference ones: the picture is a reference.
  EXPECT_FALSE(Disposable({0, 0, 1, Nal(0, 1), 0x88, 0, 0, 1, Nal(1, 1), 0x9a}, 0));
  // No slice at all (SEI only): nothing to judge.
  EXPECT_FALSE(Disposable(LengthPrefixed({{Nal(0, 6), 5}}), 4));
}

TEST(H264NalTest, MalformedUnitsAreKept) {
  EXPECT_FALSE(Disposable({0, 0, 0, 9, Nal(0, 1)}, 4));  // length beyond the buffer
  EXPECT_FALSE(Disposable({0, 0, 0, 0}, 4));
  EXPECT_FALSE(Disposable({}, 4));
  EXPECT_FALSE(Disposable({0, 0, 0, 1, Nal(0, 1)}, 5));
}

}  // namespace
}  // namespace skynet::ingest
