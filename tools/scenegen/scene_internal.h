// Helpers shared by the side-on (scene.cc) and the along-the-road (road_scene.cc) renderers:
// stateless hashing, floor division, the vehicle colours and the brake-stand-go motion.
// Internal to skynet_scene; plain inline functions.
#pragma once

#include <cstdint>
#include <iterator>
#include <opencv2/core.hpp>

namespace skynet::scenegen::internal {

// Stateless hashing instead of a sequential RNG: the attributes of vehicle k must be computable
// without generating vehicles 0..k-1, and must not depend on the platform's RNG.
inline uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from (seed, a, b, salt).
inline double Unit(uint32_t seed, int64_t a, int64_t b, int salt) {
  uint64_t h = SplitMix(seed);
  h = SplitMix(h ^ static_cast<uint64_t>(a));
  h = SplitMix(h ^ static_cast<uint64_t>(b));
  h = SplitMix(h ^ static_cast<uint64_t>(salt));
  return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
}

inline int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}
inline int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

enum class Cls { kCar, kBus, kTruck, kMotorcycle, kBicycle, kPerson };
inline const char* ClsName(Cls c) {
  switch (c) {
    case Cls::kCar:
      return "car";
    case Cls::kBus:
      return "bus";
    case Cls::kTruck:
      return "truck";
    case Cls::kMotorcycle:
      return "motorcycle";
    case Cls::kBicycle:
      return "bicycle";
    case Cls::kPerson:
      return "person";
  }
  return "?";
}

// BGR: white, black, silver, red, blue, yellow, green; their names in the truth (the names of
// skynetd's colour palette, pipeline/analytics/vehicle_colour.h).
inline const cv::Scalar kVehicleColours[] = {{235, 235, 235}, {30, 30, 32},  {190, 192, 195},
                                             {40, 40, 200},   {170, 80, 30}, {30, 205, 230},
                                             {50, 130, 40}};
inline const char* const kVehicleColourNames[] = {"white", "black",  "silver", "red",
                                                  "blue",  "yellow", "green"};
static_assert(std::size(kVehicleColours) == std::size(kVehicleColourNames));
inline const cv::Scalar kClothes[] = {{60, 40, 30},    {40, 40, 160}, {150, 110, 60},
                                      {200, 200, 200}, {40, 120, 40}, {20, 20, 20}};

constexpr double kBrakeSeconds = 3;  // uniform braking from cruise to standstill, and back

// Motion along one axis of a vehicle that cruises at v units/s, brakes uniformly for
// kBrakeSeconds to stand at x_stop during [t_stop, t_stop + stop_s], and pulls away the same way.
struct Motion {
  double x = 0, vx = 0, still_for = 0, still_left = 0;
};
inline Motion StoppingMotion(double t, double x_stop, double t_stop, double stop_s, double v) {
  const double a = v / kBrakeSeconds, brake = 0.5 * v * kBrakeSeconds;
  const double t_go = t_stop + stop_s;
  Motion m;
  if (t < t_stop - kBrakeSeconds) {
    m.x = x_stop - brake - v * (t_stop - kBrakeSeconds - t);
    m.vx = v;
  } else if (t < t_stop) {
    const double tau = t_stop - t;
    m.x = x_stop - 0.5 * a * tau * tau;
    m.vx = a * tau;
  } else if (t < t_go) {
    m.x = x_stop;
    m.still_for = t - t_stop;
    m.still_left = t_go - t;
  } else if (t < t_go + kBrakeSeconds) {
    const double tau = t - t_go;
    m.x = x_stop + 0.5 * a * tau * tau;
    m.vx = a * tau;
  } else {
    m.x = x_stop + brake + v * (t - t_go - kBrakeSeconds);
    m.vx = v;
  }
  return m;
}

}  // namespace skynet::scenegen::internal
