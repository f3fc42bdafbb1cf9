#include "pipeline/ingest/decode_health.h"

#include <cstdio>

namespace skynet::ingest {
namespace {

uint64_t Errors(const DecodeTotals& t) {
  return t.decoder_errors + t.decode_warnings + t.corrupt_frames;
}

}  // namespace

DecodeHealth::Verdict DecodeHealth::Observe(int64_t now_us, const DecodeTotals& totals) {
  const bool step_trouble = !samples_.empty() && Errors(totals) > Errors(samples_.back().totals);
  samples_.push_back({now_us, totals, step_trouble});
  // Keep one sample at or before the window's start as the base of the differences.
  while (samples_.size() > 1 && samples_[1].at_us <= now_us - options_.window_us) {
    samples_.pop_front();
  }
  const DecodeTotals& base = samples_.front().totals;
  const uint64_t errors = Errors(totals) - Errors(base);
  const uint64_t units = totals.units_in - base.units_in;
  const uint64_t frames = totals.frames_out - base.frames_out;
  const bool starved = frames == 0 && units >= options_.min_units_without_frames;
  const uint64_t trouble = errors + (starved ? units : 0);
  if (step_trouble || starved) last_trouble_us_ = now_us;

  Verdict v;
  if (!degraded_ && trouble >= options_.min_trouble) {
    degraded_ = true;
    v.change = Change::kDegraded;
    int64_t first_us = now_us;
    for (const Sample& s : samples_) {
      if (s.trouble || starved) {
        first_us = s.at_us;
        break;
      }
    }
    v.latency_us = now_us - first_us;
    char text[200];
    std::snprintf(text, sizeof text,
                  "decode errors: %llu decoder errors, %llu decode warnings, %llu corrupt frames, "
                  "%llu frames from %llu units in the last %.1f s",
                  static_cast<unsigned long long>(totals.decoder_errors - base.decoder_errors),
                  static_cast<unsigned long long>(totals.decode_warnings - base.decode_warnings),
                  static_cast<unsigned long long>(totals.corrupt_frames - base.corrupt_frames),
                  static_cast<unsigned long long>(frames), static_cast<unsigned long long>(units),
                  options_.window_us / 1e6);
    v.detail = text;
  } else if (degraded_ && now_us - last_trouble_us_ >= options_.clean_us) {
    degraded_ = false;
    v.change = Change::kClean;
  }
  return v;
}

}  // namespace skynet::ingest
