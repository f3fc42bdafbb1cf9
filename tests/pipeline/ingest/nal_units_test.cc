#include "pipeline/ingest/nal_units.h"

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

// H.265 NAL headers: forbidden bit 0, type (6 bits), layer id 0, TemporalId + 1 (3 bits).
std::vector<uint8_t> Hevc(int type, int temporal_id, std::vector<uint8_t> payload = {0xaf}) {
  payload.insert(payload.begin(), {uint8_t(type << 1), uint8_t(temporal_id + 1)});
  return payload;
}
// An SPS whose first byte says sps_max_sub_layers_minus1 = `top`.
std::vector<uint8_t> Sps(int top) { return Hevc(33, 0, {uint8_t(top << 1 | 1), 0x01}); }

bool HevcDisposable(const std::vector<uint8_t>& au, int nal_length_size, int* top) {
  return H265AccessUnitIsDisposable(au.data(), au.size(), nal_length_size, top);
}

TEST(H265NalTest, SubLayerNonReferencePicturesOfTheTopLayerAreDisposable) {
  int top = 0;  // one sub-layer: non-reference B frames are TRAIL_N on sub-layer 0
  EXPECT_TRUE(HevcDisposable(LengthPrefixed({Hevc(0, 0)}), 4, &top));  // TRAIL_N
  EXPECT_TRUE(HevcDisposable(LengthPrefixed({Hevc(35, 0), Hevc(0, 0), Hevc(0, 0)}), 4, &top));
  EXPECT_FALSE(HevcDisposable(LengthPrefixed({Hevc(1, 0)}), 4, &top));   // TRAIL_R
  EXPECT_FALSE(HevcDisposable(LengthPrefixed({Hevc(19, 0)}), 4, &top));  // IDR_W_RADL
  EXPECT_FALSE(HevcDisposable(LengthPrefixed({Hevc(21, 0)}), 4, &top));  // CRA
  // One reference slice among non-reference ones: a reference picture.
  EXPECT_FALSE(HevcDisposable(LengthPrefixed({Hevc(0, 0), Hevc(1, 0)}), 4, &top));
  // No slice (parameter sets, SEI): nothing to judge.
  EXPECT_FALSE(HevcDisposable(LengthPrefixed({Hevc(39, 0)}), 4, &top));
  // Annex B, 3- and 4-byte start codes.
  std::vector<uint8_t> annex_b = {0, 0, 0, 1};
  for (uint8_t b : Hevc(0, 0)) annex_b.push_back(b);
  annex_b.insert(annex_b.end(), {0, 0, 1});
  for (uint8_t b : Hevc(0, 0)) annex_b.push_back(b);
  EXPECT_TRUE(HevcDisposable(annex_b, 0, &top));
}

TEST(H265NalTest, LowerSubLayersAndAnUnknownTopAreKept) {
  // Three temporal sub-layers: a TSA_N on sub-layer 1 may be referred to by sub-layer 2.
  int top = 2;
  EXPECT_FALSE(HevcDisposable(LengthPrefixed({Hevc(2, 1)}), 4, &top));
  EXPECT_TRUE(HevcDisposable(LengthPrefixed({Hevc(2, 2)}), 4, &top));
  // Unknown until an SPS says: nothing is dropped; the SPS in the unit is read first.
  top = -1;
  EXPECT_FALSE(HevcDisposable(LengthPrefixed({Hevc(0, 0)}), 4, &top));
  EXPECT_TRUE(HevcDisposable(LengthPrefixed({Sps(0), Hevc(0, 0)}), 4, &top));
  EXPECT_EQ(top, 0);
  EXPECT_FALSE(HevcDisposable(LengthPrefixed({Sps(1), Hevc(0, 0)}), 4, &top));
  EXPECT_EQ(top, 1);
}

TEST(H265NalTest, MalformedUnitsAreKept) {
  int top = 0;
  EXPECT_FALSE(HevcDisposable({0, 0, 0, 9, 0, 1}, 4, &top));     // length beyond the buffer
  EXPECT_FALSE(HevcDisposable(LengthPrefixed({{0}}), 4, &top));  // a 1-byte NAL
  EXPECT_FALSE(HevcDisposable({}, 4, &top));
}

TEST(H265NalTest, HevcConfigGivesTheLengthSizeAndTheTopSubLayer) {
  std::vector<uint8_t> hvcc(23, 0);
  hvcc[0] = 1;
  hvcc[21] = uint8_t(0x0f | (1 << 3));  // one temporal layer, nested, 4-byte lengths
  int length = 0, top = -5;
  ASSERT_TRUE(ParseHevcConfig(hvcc.data(), hvcc.size(), &length, &top));
  EXPECT_EQ(length, 4);
  EXPECT_EQ(top, 0);
  hvcc[21] = 0x01;  // numTemporalLayers 0: unknown; 2-byte lengths
  ASSERT_TRUE(ParseHevcConfig(hvcc.data(), hvcc.size(), &length, &top));
  EXPECT_EQ(length, 2);
  EXPECT_EQ(top, -1);
  EXPECT_FALSE(ParseHevcConfig(hvcc.data(), 10, &length, &top));
  hvcc[0] = 0;
  EXPECT_FALSE(ParseHevcConfig(hvcc.data(), hvcc.size(), &length, &top));
}

}  // namespace
}  // namespace skynet::ingest
