#include "daemon/camera_quality.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "pipeline/core/logging.h"

namespace skynet::daemon {
namespace {

using analytics::QualityCheck;
using analytics::QualityState;

v1::QualityState Worst(const analytics::QualityObservation& obs, bool sampled) {
  if (!sampled) return v1::QUALITY_STATE_LEARNING;
  if (obs.Any(QualityState::kFault)) return v1::QUALITY_STATE_FAULT;
  if (obs.Any(QualityState::kLearning)) return v1::QUALITY_STATE_LEARNING;
  return v1::QUALITY_STATE_OK;
}

std::vector<std::string> Faults(const analytics::QualityObservation& obs) {
  std::vector<std::string> out;
  for (int i = 0; i < analytics::kQualityCheckCount; ++i) {
    if (obs.checks[i].state == QualityState::kFault) {
      out.push_back(analytics::QualityCheckName(QualityCheck(i)));
    }
  }
  return out;
}

}  // namespace

v1::QualityState ToProto(QualityState state) {
  switch (state) {
    case QualityState::kLearning:
      return v1::QUALITY_STATE_LEARNING;
    case QualityState::kOk:
      return v1::QUALITY_STATE_OK;
    case QualityState::kFault:
      return v1::QUALITY_STATE_FAULT;
  }
  return v1::QUALITY_STATE_UNSPECIFIED;
}

CameraQualityOptions QualityOptionsFor(const VideoQualityConfig& config,
                                       const std::string& camera_id,
                                       const std::string& reference_dir) {
  CameraQualityOptions q;
  q.camera_id = camera_id;
  q.sample_interval_ms = config.sample_interval_ms;
  q.monitor = config.options;
  if (!reference_dir.empty()) {
    q.reference_file = (std::filesystem::path(reference_dir) / (camera_id + ".yml.gz")).string();
  }
  return q;
}

CameraQuality::CameraQuality(const CameraQualityOptions& options, Clock* clock)
    : options_(options), clock_(clock) {}

CameraQuality::~CameraQuality() = default;

Result<std::unique_ptr<CameraQuality>> CameraQuality::Create(const CameraQualityOptions& options,
                                                             Clock* clock) {
  std::unique_ptr<CameraQuality> q(new CameraQuality(options, clock));
  SKYNET_ASSIGN_OR_RETURN(q->monitor_, analytics::VideoQualityMonitor::Create(options.monitor));
  if (options.reference_file.empty()) return q;
  auto log = GetLogger("analytics");
  const Status st = q->monitor_->LoadReference(options.reference_file);
  if (st.ok()) {
    q->reference_ = "loaded";
    struct stat info {};
    if (::stat(options.reference_file.c_str(), &info) == 0) {
      q->reference_time_us_ =
          int64_t{info.st_mtim.tv_sec} * 1'000'000 + info.st_mtim.tv_nsec / 1000;
    }
    log->info("[cam {}] video quality: reference view loaded from {}", options.camera_id,
              options.reference_file);
  } else if (st.code() == StatusCode::kNotFound) {
    log->info("[cam {}] video quality: no reference view in {} yet, learning it", options.camera_id,
              options.reference_file);
  } else {
    // Never fatal: the view is learned again and the file rewritten once it is.
    log->warn(
        "[cam {}] video quality: reference view {} is unreadable or damaged ({}); learning "
        "it again",
        options.camera_id, options.reference_file, st.message());
  }
  return q;
}

void CameraQuality::Sample(const cv::Mat& image, int64_t capture_time_us,
                           std::vector<v1::VideoQuality>* changes) {
  const int64_t now = clock_->NowMonotonicUs();
  if (now < next_sample_us_ || image.empty()) return;
  next_sample_us_ = now + int64_t{options_.sample_interval_ms} * 1000;
  // The monitor needs a time that never goes backwards (capture times may, across reconnects).
  last_time_us_ = std::max(last_time_us_, capture_time_us);
  analytics::QualityObservation obs;
  Status saved = Status::Ok();
  bool reference_updated = false;
  {
    std::lock_guard<std::mutex> lock(monitor_mu_);
    obs = monitor_->Process(image, last_time_us_);
    if (obs.reference_updated) {
      reference_updated = true;
      if (!options_.reference_file.empty()) saved = SaveLocked();
    }
  }
  auto log = GetLogger("analytics");
  if (!saved.ok() && !save_failed_logged_) {
    log->warn("[cam {}] video quality: cannot keep the reference view: {}", options_.camera_id,
              saved.message());
    save_failed_logged_ = true;
  }
  if (log->should_log(spdlog::level::trace)) {
    std::string scores;
    for (int c = 0; c < analytics::kQualityCheckCount; ++c) {
      scores += fmt::format(" {}={:.2f}", analytics::QualityCheckName(analytics::QualityCheck(c)),
                            obs.checks[c].score);
    }
    log->trace("[cam {}] video quality sample at {} us:{}", options_.camera_id, last_time_us_,
               scores);
  }
  const v1::QualityState worst = Worst(obs, true);
  const std::vector<std::string> faults = Faults(obs);
  for (const analytics::QualityChange& c : obs.changes) {
    v1::VideoQuality vq;
    vq.set_check(analytics::QualityCheckName(c.check));
    vq.set_from(ToProto(c.from));
    vq.set_to(ToProto(c.to));
    vq.set_score(c.score);
    vq.set_worst(worst);
    for (const std::string& f : faults) vq.add_faults(f);
    changes->push_back(std::move(vq));
    if (c.to == QualityState::kFault || c.from == QualityState::kFault) {
      log->info("[cam {}] video quality: {} {} (score {:.2f})", options_.camera_id,
                analytics::QualityCheckName(c.check),
                c.to == QualityState::kFault ? "fault" : "ok again", c.score);
    } else {
      log->debug("[cam {}] video quality: {} {} -> {}", options_.camera_id,
                 analytics::QualityCheckName(c.check), analytics::QualityStateName(c.from),
                 analytics::QualityStateName(c.to));
    }
  }
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  if (reference_updated) {
    reference_ = reference_ == "learning" || reference_ == "learned" ? "learned" : "refreshed";
    reference_time_us_ = last_time_us_;
  }
  last_ = std::move(obs);
  last_.changes.clear();
  sampled_ = true;
  ++samples_;
  last_sample_us_ = capture_time_us;
}

Status CameraQuality::AcceptView() {
  Status saved = Status::Ok();
  {
    std::lock_guard<std::mutex> lock(monitor_mu_);
    SKYNET_RETURN_IF_ERROR(monitor_->AcceptCurrentView());
    if (!options_.reference_file.empty()) saved = SaveLocked();
  }
  {
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    reference_ = "accepted";
    reference_time_us_ = last_sample_us_;
  }
  GetLogger("analytics")
      ->info("[cam {}] video quality: current view accepted as the reference{}", options_.camera_id,
             options_.reference_file.empty() ? "" : ", written to " + options_.reference_file);
  return saved;
}

Status CameraQuality::SaveLocked() {
  const std::filesystem::path file(options_.reference_file);
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  // FileStorage picks the format from the name: the temporary keeps the ".yml.gz" ending.
  const std::string tmp = (file.parent_path() / ("." + file.filename().string())).string();
  SKYNET_RETURN_IF_ERROR(monitor_->SaveReference(tmp));
  if (std::rename(tmp.c_str(), options_.reference_file.c_str()) != 0) {
    std::filesystem::remove(tmp, ec);
    return Status::IoError(options_.reference_file + ": cannot replace the reference view");
  }
  return Status::Ok();
}

void CameraQuality::FillInfo(v1::CameraQualityInfo* info) const {
  info->set_camera_id(options_.camera_id);
  info->set_enabled(true);
  info->set_reference_file(options_.reference_file);
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  info->set_worst(Worst(last_, sampled_));
  for (int i = 0; i < analytics::kQualityCheckCount; ++i) {
    const analytics::QualityCheckStatus& c = last_.checks[i];
    v1::QualityCheckInfo* out = info->add_checks();
    out->set_check(analytics::QualityCheckName(QualityCheck(i)));
    out->set_state(ToProto(c.state));
    out->set_score(c.score);
    out->set_since_us(c.state == QualityState::kLearning && !sampled_ ? 0 : c.since_us);
    out->set_held(sampled_ && c.held);
  }
  info->set_reference(reference_);
  info->set_reference_time_us(reference_time_us_);
  info->set_samples(samples_);
  info->set_last_sample_us(last_sample_us_);
}

v1::QualityState CameraQuality::worst() const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  return Worst(last_, sampled_);
}

std::vector<std::string> CameraQuality::faults() const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  return Faults(last_);
}

std::vector<QualityCheckSnapshot> CameraQuality::checks() const {
  std::lock_guard<std::mutex> lock(snapshot_mu_);
  std::vector<QualityCheckSnapshot> out(analytics::kQualityCheckCount);
  for (int i = 0; i < analytics::kQualityCheckCount; ++i) {
    out[i] = {last_.checks[i].state, last_.checks[i].score};
  }
  return out;
}

}  // namespace skynet::daemon
