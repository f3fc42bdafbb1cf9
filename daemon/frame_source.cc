#include "daemon/frame_source.h"

namespace skynet::daemon {
namespace {

class CameraSessionSource final : public FrameSource {
 public:
  explicit CameraSessionSource(std::unique_ptr<ingest::CameraSession> session)
      : session_(std::move(session)) {}
  void Start() override { session_->Start(); }
  void Stop() override { session_->Stop(); }
  ingest::SessionStats stats() const override { return session_->stats(); }

 private:
  std::unique_ptr<ingest::CameraSession> session_;
};

}  // namespace

Result<std::unique_ptr<FrameSource>> CameraSessionFactory::Create(
    const ingest::SourceOptions& options, ingest::CameraSession::Callbacks callbacks) {
  auto session = ingest::CameraSession::Create(options, std::move(callbacks), clock_);
  if (!session.ok()) return session.status();
  return std::unique_ptr<FrameSource>(
      std::make_unique<CameraSessionSource>(std::move(session).value()));
}

}  // namespace skynet::daemon
