#include "daemon/snapshot_writer.h"

#include "pipeline/core/logging.h"

namespace skynet::daemon {

std::string SnapshotFileName(uint64_t track_id, int64_t time_us, const char* part) {
  return "track-" + std::to_string(track_id) + "-" + std::to_string(time_us) + "-" + part + ".jpg";
}

SnapshotWriter::SnapshotWriter(std::shared_ptr<EvidenceStore> store, SnapshotWriterOptions options,
                               Done done)
    : store_(std::move(store)),
      options_(options),
      done_(std::move(done)),
      thread_([this] { Run(); }) {}

SnapshotWriter::~SnapshotWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  const SnapshotWriterStats s = stats();
  GetLogger("daemon")->info(
      "snapshots: {} files written, {} write errors, {} tracks dropped to a full queue",
      s.files_written, s.write_errors, s.dropped);
}

void SnapshotWriter::Add(v1::Event record, EvidenceSnapshot snapshot) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && queue_.size() < options_.max_queued) {
      queue_.push_back({std::move(record), std::move(snapshot)});
      cv_.notify_one();
      return;
    }
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  done_(std::move(record));
}

SnapshotWriterStats SnapshotWriter::stats() const {
  SnapshotWriterStats s;
  s.files_written = files_written_.load(std::memory_order_relaxed);
  s.write_errors = write_errors_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  return s;
}

void SnapshotWriter::Write(Item* item) {
  v1::VehicleRecord* r = item->record.mutable_vehicle_record();
  const EvidenceSnapshot& s = item->snapshot;
  const std::pair<const char*, const std::string*> parts[] = {{"crop", &s.crop_jpeg},
                                                              {"scene", &s.scene_jpeg}};
  for (const auto& [part, bytes] : parts) {
    if (bytes->empty()) continue;
    // The store logs a full disk once and counts its refusals; here they are counted only.
    Result<std::string> rel =
        store_->WriteFile(item->record.camera_id(), "snapshots",
                          SnapshotFileName(r->track_id(), s.time_us, part), s.time_us, *bytes);
    if (rel.ok()) {
      r->add_snapshot_files(std::move(rel).value());
      files_written_.fetch_add(1, std::memory_order_relaxed);
    } else {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void SnapshotWriter::Run() {
  while (true) {
    Item item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything written
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    Write(&item);
    done_(std::move(item.record));
  }
}

}  // namespace skynet::daemon
