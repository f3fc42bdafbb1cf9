// Test helpers for ingest: encoded test files, a tiny RTSP server, and a recorder of
// session callbacks with condition waits (never fixed sleeps).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/core/frame.h"
#include "pipeline/core/status.h"
#include "pipeline/ingest/camera_session.h"
#include "tests/pipeline/ingest/loopback_sockets.h"
#include "tests/testing/temp_dir.h"

namespace skynet::ingest::testing {

using TempDir = skynet::testing::TempDir;

// Runs a gst-launch style `description` to EOS (e.g. an encoder writing a file).
Status RunGstPipeline(const std::string& description, int timeout_ms = 60000);

struct TestVideo {
  int frames = 45;
  int width = 640;
  int height = 360;
  int fps = 15;
  std::string encoder = "x264enc ! h264parse ! mp4mux";  // what follows the raw caps
  std::string extension = "mp4";
};
// Writes a videotestsrc (pattern=ball) clip into `dir`; returns its file:// URL.
Result<std::string> MakeTestVideo(const std::string& dir, const TestVideo& video);

// A gst-rtsp-server on 127.0.0.1 with an OS-chosen port, its own GMainContext and thread,
// for the faults camsim does not (yet) simulate: other codecs, freezing, authentication.
class RtspTestServer {
 public:
  enum class Codec { kH264, kH265, kVp8 };
  ~RtspTestServer();
  // Mounts a live videotestsrc at each path ("/cam") with the given codec. With a non-empty
  // `user`, every mount requires basic authentication as user/password.
  static Result<std::unique_ptr<RtspTestServer>> Start(std::map<std::string, Codec> mounts,
                                                       const std::string& user = "",
                                                       const std::string& password = "");
  std::string Url(const std::string& path) const;
  int port() const { return port_; }
  // Freezes (true) or resumes all media: RTP stops but the session and RTCP stay up.
  void SetFrozen(bool frozen);
  // Disconnects all clients and stops serving.
  void Shutdown();

  struct State;

 private:
  RtspTestServer() = default;
  std::unique_ptr<State> state_;
  int port_ = 0;
};

// Records what a CameraSession reports. Thread-safe.
class Recorder {
 public:
  CameraSession::Callbacks Callbacks();
  // Waits until `pred` (called under the lock) holds; false after `timeout`.
  bool WaitFor(const std::function<bool()>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool WaitForState(SessionState s, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Waits until at least `n` changes to `s` were seen.
  bool WaitForStateCount(SessionState s, size_t n,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool WaitForFrames(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool WaitForEos(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::vector<StateChange> states();
  // Steady-clock arrival time of each change in states(), same order.
  std::vector<std::chrono::steady_clock::time_point> state_times();
  std::vector<Frame> frames();
  size_t frame_count();
  bool eos();
  // Number of changes to `s` seen so far.
  size_t CountState(SessionState s);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<StateChange> states_;
  std::vector<std::chrono::steady_clock::time_point> state_times_;
  std::vector<Frame> frames_;
  bool eos_ = false;
};

}  // namespace skynet::ingest::testing
