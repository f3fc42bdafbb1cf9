// Vehicle colour: the colour name of a vehicle from its body pixels, one vote per frame, decided
// over the frames of its track.
//
// Pixels come from the vehicle's foreground mask when one is given (road and cast shadow
// excluded), else from the central body of the box (sides, roof line and the bottom quarter with
// tyres and shadow left out). The road around the vehicle (the box's surroundings outside the
// mask) is the scene's reference: it white-balances the pixels (asphalt is grey, whatever the
// light's tint) and sets the exposure, so that a white car at dusk is still brighter than the
// road by the same ratio. A frame's vote is then
//   - a hue (red, yellow, green, blue) when a clear share of the body is chromatic in CIE Lab
//     (chroma, not HSV saturation: a dark blue car in shade is chromatic, a black car's tinted
//     glass is not), the hue bin with the most chroma winning;
//   - otherwise white, silver (grey) or black by the brightness of the body's brighter part (an
//     upper quantile: glass, tyres and the shaded sides are darker, the roof and the bonnet are
//     the paint in light) relative to the road's.
// Votes are weighted by the number of pixels (near views count more than far ones) and summed
// over the track; the colour with the most votes wins. Pure functions: thread-safe.
//
// The same pixels also give a small colour histogram of the body (ColourHistogram), summed over
// the track like the votes: what following a vehicle across cameras compares (the name alone
// does not tell two silver cars or a light and a dark blue one apart).
//
//   ColourVote v = DominantColour(frame, track.box, detector.foreground());
//   for (int c = 0; c < kNumVehicleColours; ++c) votes[c] += v.votes[c];
//   ColourVote decided = DecideColour(votes);  // colour, confidence = its share of the votes
#pragma once

#include <array>
#include <opencv2/core.hpp>

namespace skynet::analytics {

// The palette, the one definition of vehicle colour names (the event schema's VehicleColour
// mirrors it). Dark blue is blue, grey is silver.
enum class VehicleColour { kUnknown = 0, kWhite, kBlack, kSilver, kRed, kBlue, kYellow, kGreen };
inline constexpr int kNumVehicleColours = 8;

// "white", "black", "silver" (silver/grey), "red", "blue", "yellow", "green"; "unknown".
const char* VehicleColourName(VehicleColour c);

// The body's colour histogram: 8 hue sectors of its chromatic pixels (CIE Lab hue angle, 45
// degrees each from 0 = a*+, the red-magenta axis: bin 0 covers [0, 45), bin 1 [45, 90) ... ) and
// 4 lightness bins of its achromatic ones (exposure-corrected luma: black below 62, dark grey
// below 120, light grey below 190, white from 190), in that order: 12 bins.
inline constexpr int kColourHistogramBins = 12;
using ColourHistogram = std::array<float, kColourHistogramBins>;

struct ColourVote {
  VehicleColour colour = VehicleColour::kUnknown;
  float confidence = 0;  // the winner's share of the weighted votes, [0, 1]
  int pixels = 0;        // body pixels that were looked at
  // Weighted votes per colour (index = VehicleColour), for accumulating over several frames.
  std::array<float, kNumVehicleColours> votes{};
  // This frame's histogram, summing to the vote's weight (as votes), for accumulating likewise.
  ColourHistogram histogram{};
};

// The colour of the vehicle in `box` (pixels) of `frame` (CV_8UC3 BGR) in this frame, as one
// vote (weight up to 1). `mask`: CV_8UC1 of the frame's size, non-zero on foreground (this and
// other vehicles), or empty. Unknown (no vote) if the frame is not BGR or fewer than 20 body
// pixels are left.
ColourVote DominantColour(const cv::Mat& frame, const cv::Rect2f& box, const cv::Mat& mask);

// Decides from accumulated votes (the sum of several frames' ColourVote::votes): the colour with
// the most votes, its share as the confidence; unknown without votes.
ColourVote DecideColour(const std::array<float, kNumVehicleColours>& votes);

// `h` scaled to sum to 1; all zeros when it has no mass.
ColourHistogram NormaliseHistogram(const ColourHistogram& h);

// How different two normalised histograms are: 1 - their intersection (the sum of the bin-wise
// minima), in [0, 1]: 0 the same, 1 nothing in common. 1 when either has no mass.
float HistogramDistance(const ColourHistogram& a, const ColourHistogram& b);

}  // namespace skynet::analytics
