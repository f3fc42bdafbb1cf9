// FakeSessionFactory: a recording daemon::SessionFactory for unit tests of the supervisor and
// the camera runners, ninja style: no GStreamer, no network. Every source it makes is recorded
// as a FakeSession, which the test drives as the camera's ingest session would (frames, state
// changes, counters) and inspects (options, started, stopped) even after the runner that owned
// the source is gone.
//
//   FakeSessionFactory sessions;
//   auto runner = CameraRunner::Create(config, &sessions, &sink, &clock);
//   (*runner)->Start(wake);
//   auto s = sessions.Latest("cam1");
//   s->GoOnline();  s->PushFrame(frame);
//
// Threads: everything may be called from any thread. Callbacks run on the calling thread, one
// at a time per session, never after the source's Stop() returned (as CameraSession promises).
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/frame_source.h"
#include "tests/pipeline/analytics/vehicle_scene.h"

namespace skynet::testing {

class FakeSession {
 public:
  FakeSession(ingest::SourceOptions options, ingest::CameraSession::Callbacks callbacks)
      : options_(std::move(options)), callbacks_(std::move(callbacks)) {}

  // Delivers `frame` / `change` as the session would. False (nothing delivered) unless the
  // source was started and not yet stopped.
  bool PushFrame(Frame frame) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!live()) return false;
    ++stats_.frames_in;
    ++stats_.frames_delivered;
    callbacks_.on_frame(std::move(frame));
    return true;
  }
  // A compressed access unit, as a session taps it before its decoder (if asked to).
  bool PushEncoded(ingest::EncodedUnit unit) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!live() || !callbacks_.on_encoded) return false;
    callbacks_.on_encoded(std::move(unit));
    return true;
  }
  bool PushState(const ingest::StateChange& change) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!live()) return false;
    stats_.state = change.state;
    stats_.reason = change.reason;
    callbacks_.on_state(change);
    return true;
  }
  // kOnline/kConnected with a codec and decoded size.
  bool GoOnline(const std::string& codec = "h264", int width = 1280, int height = 720) {
    ingest::StateChange c;
    c.state = ingest::SessionState::kOnline;
    c.reason = ingest::StateReason::kConnected;
    c.codec = codec;
    c.width = width;
    c.height = height;
    return PushState(c);
  }
  // Counters stats() reports from now on (frames pushed keep adding to them).
  void SetStats(const ingest::SessionStats& stats) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_ = stats;
  }

  // Makes Stop() wait until ReleaseStop(): a teardown that hangs (a dead camera).
  void HoldStop() {
    std::lock_guard<std::mutex> lock(gate_mu_);
    hold_ = true;
  }
  void ReleaseStop() {
    {
      std::lock_guard<std::mutex> lock(gate_mu_);
      hold_ = false;
    }
    gate_cv_.notify_all();
  }
  // True while a Stop() waits for ReleaseStop().
  bool stop_held() const {
    std::lock_guard<std::mutex> lock(gate_mu_);
    return waiting_;
  }

  const ingest::SourceOptions& options() const { return options_; }
  bool started() const {
    std::lock_guard<std::mutex> lock(mu_);
    return started_;
  }
  bool stopped() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stopped_;
  }
  ingest::SessionStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  friend class FakeFrameSource;
  bool live() const { return started_ && !stopped_; }
  void Start() {
    std::lock_guard<std::mutex> lock(mu_);
    started_ = true;
  }
  void Stop() {
    {
      std::unique_lock<std::mutex> lock(gate_mu_);
      waiting_ = hold_;
      gate_cv_.wait(lock, [&] { return !hold_; });
      waiting_ = false;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!live()) return;
    ingest::StateChange c;
    c.state = ingest::SessionState::kStopped;
    c.reason = ingest::StateReason::kStopped;
    stats_.state = c.state;
    callbacks_.on_state(c);
    stopped_ = true;
  }
  // The source is gone: a real session's callbacks (and what they hold) go with it.
  void DropCallbacks() {
    std::lock_guard<std::mutex> lock(mu_);
    callbacks_ = {};
  }

  const ingest::SourceOptions options_;
  ingest::CameraSession::Callbacks callbacks_;  // dropped with the source, as a session's are
  mutable std::mutex mu_;                       // held while a callback runs
  bool started_ = false;
  bool stopped_ = false;
  ingest::SessionStats stats_;
  mutable std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  bool hold_ = false;
  bool waiting_ = false;
};

// The source a runner owns; its state lives in the shared FakeSession.
class FakeFrameSource final : public daemon::FrameSource {
 public:
  explicit FakeFrameSource(std::shared_ptr<FakeSession> session) : session_(std::move(session)) {}
  ~FakeFrameSource() override {
    session_->Stop();
    session_->DropCallbacks();
  }
  void Start() override { session_->Start(); }
  void Stop() override { session_->Stop(); }
  ingest::SessionStats stats() const override { return session_->stats(); }

 private:
  std::shared_ptr<FakeSession> session_;
};

class FakeSessionFactory final : public daemon::SessionFactory {
 public:
  Result<std::unique_ptr<daemon::FrameSource>> Create(
      const ingest::SourceOptions& options, ingest::CameraSession::Callbacks callbacks) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_next_.ok()) {
      Status st = std::move(fail_next_);
      fail_next_ = Status();
      return st;
    }
    auto session = std::make_shared<FakeSession>(options, std::move(callbacks));
    sessions_[options.camera_id].push_back(session);
    return std::unique_ptr<daemon::FrameSource>(std::make_unique<FakeFrameSource>(session));
  }

  // The next Create() fails with `status` (a camera the ingest rejects).
  void FailNext(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_next_ = std::move(status);
  }
  // The newest session made for camera `id`, or null.
  std::shared_ptr<FakeSession> Latest(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.back();
  }
  // How many sessions were made for camera `id` (one per runner: each restart makes one).
  size_t Count(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(id);
    return it == sessions_.end() ? 0 : it->second.size();
  }
  void Released(const std::string& camera_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    released_.push_back(camera_id);
  }
  // The cameras Released() was called for, in order.
  std::vector<std::string> released() const {
    std::lock_guard<std::mutex> lock(mu_);
    return released_;
  }

 private:
  mutable std::mutex mu_;
  Status fail_next_;
  std::vector<std::string> released_;
  std::map<std::string, std::vector<std::shared_ptr<FakeSession>>> sessions_;
};

// Frame `index` of a synthetic road at 10 fps (320x180 BGR); with `car`, a car drives across it
// from the left, 6 px a frame: enough for the motion detector to start and update an interval.
inline Frame RoadFrame(int index, bool car, int64_t start_us = 1'700'000'000'000'000) {
  static const analytics::testing::RoadScene scene;
  Frame f;
  f.image = scene.Frame(index);
  if (car)
    analytics::testing::DrawCar(f.image, cv::Rect(-40 + 6 * index, 100, 40, 20), {40, 40, 200});
  f.capture_time_us = start_us + index * analytics::testing::kFrameUs;
  f.stream_time_us = index * analytics::testing::kFrameUs;
  f.index = static_cast<uint64_t>(index);
  return f;
}

}  // namespace skynet::testing
