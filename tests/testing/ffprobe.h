// Ffprobe: what ffprobe (Debian's ffmpeg package) reads in a media file: the video frames
// with their key flags and times. Clips are checked with it as a player would read them.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace skynet::testing {

struct ProbedFrame {
  bool key = false;
  double pts_s = 0;
};

struct Probe {
  bool ok = false;          // ffprobe ran and read the file without errors
  std::string codec;        // "h264"
  int width = 0, height = 0;
  std::vector<ProbedFrame> frames;
  std::string errors;       // what ffprobe printed on stderr
};

inline Probe Ffprobe(const std::string& path) {
  Probe p;
  const std::string cmd =
      "ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height "
      "-show_entries frame=key_frame,pts_time -of csv=p=0 '" + path + "' 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return p;
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  const int rc = pclose(f);
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    // "h264,320,180" (stream) or "1,0.000000" (frame); anything else is an error message.
    if (line.empty()) continue;
    const size_t c1 = line.find(',');
    if (c1 == std::string::npos) {
      p.errors += line + "\n";
      continue;
    }
    const std::string a = line.substr(0, c1), rest = line.substr(c1 + 1);
    if (a == "0" || a == "1") {
      p.frames.push_back({a == "1", std::atof(rest.c_str())});
    } else if (std::count(line.begin(), line.end(), ',') == 2) {
      p.codec = a;
      p.width = std::atoi(rest.c_str());
      p.height = std::atoi(rest.substr(rest.find(',') + 1).c_str());
    } else {
      p.errors += line + "\n";
    }
  }
  p.ok = rc == 0 && !p.codec.empty();
  return p;
}

// Whether a player starts `p` at once: ffprobe read it without errors, it has video frames, and
// the first of them is a key frame.
inline ::testing::AssertionResult PlaysFromAKeyFrame(const Probe& p) {
  if (!p.ok) return ::testing::AssertionFailure() << "ffprobe: " << p.errors;
  if (p.frames.empty()) return ::testing::AssertionFailure() << "no video frames";
  if (!p.frames.front().key) {
    return ::testing::AssertionFailure() << "the first frame is no key frame";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace skynet::testing
