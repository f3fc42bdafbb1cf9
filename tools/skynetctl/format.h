// Human-readable and JSON renderings of skynetd protocol messages, for skynetctl's output.
//
// Pure functions of their arguments (plus the local time zone for timestamps): safe from any
// thread. Nothing here prints; callers decide where the text goes.
#pragma once

#include <string>
#include <vector>

#include "pipeline/core/status.h"
#include "skynet/v1/control.pb.h"
#include "skynet/v1/events.pb.h"

namespace skynet::ctl {

// One line for `skynetctl tail`: local time with milliseconds, camera id (the node id for
// node-wide events), event type and its key fields, e.g.
//   2026-11-28 18:01:02.123 cam1 motion-started #3 regions=2 changed=4.1% [0.12,0.40 0.10x0.08] ...
//   2026-11-28 18:01:05.000 cam2 camera online (connected) h264 640x360
// The time is the capture time, or the publish time when the event has none. No newline.
std::string FormatEventLine(const skynet::v1::Event& event);

// A message as single-line JSON with the .proto field names (64-bit integers are strings, as
// the protobuf JSON mapping requires): what every --json prints. Internal if the message cannot
// be converted.
Result<std::string> FormatJson(const google::protobuf::Message& message);
Result<std::string> FormatEventJson(const skynet::v1::Event& event);

// "2026-11-28 18:01:02.123" in the local time zone, from microseconds since the Unix epoch.
std::string FormatLocalTime(int64_t unix_us);

// "3d04h", "2h03m", "4m05s", "12.3s": a duration for tables.
std::string FormatDuration(double seconds);

// Short lowercase names: "online", "auth failed", "excellent"; "unknown" for unset values.
std::string CameraStateName(skynet::v1::CameraState state);
std::string StatusReasonName(skynet::v1::StatusReason reason);
std::string GradeName(skynet::v1::Grade grade);
// "journal ok", "journal FAILING since seq 120 (No space left on device): 58750 events not
// journaled", with what the last failure and the damage found at start lost.
std::string JournalStatusText(const skynet::v1::JournalStatus& journal);
// The evidence line of `status`: how full, or the ALARM while evidence writing is stopped.
std::string EvidenceStatusText(const skynet::v1::EvidenceStatus& evidence);
// A byte count as "12.3 MiB".
std::string FormatBytes(int64_t bytes);
std::string VehicleClassName(skynet::v1::VehicleClass vehicle_class);
// printf into a std::string, of any length.
std::string Printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Rows of cells (the first is the header) in columns two spaces apart, one '\n'-ended line per
// row without trailing blanks; right-aligned columns are for numbers.
std::string FormatColumns(const std::vector<std::vector<std::string>>& rows,
                          const std::vector<bool>& right_align);

// The table printed by `skynetctl cameras` (with a header row; URLs stripped of credentials).
std::string FormatCameraTable(const skynet::v1::ListCamerasResponse& cameras);

// The report printed by `skynetctl status`: a header line with node id, epoch, last sequence
// number and uptime, then a table with one row per camera.
std::string FormatStatusReport(const skynet::v1::StatusResponse& status);

// Short lowercase names of a video quality state: "ok", "fault", "learning"; "-" for unset.
std::string QualityStateName(skynet::v1::QualityState state);
// The status table's QUALITY cell: "-" (diagnostics off), "learning", "ok", or "FAULT frozen,blur".
std::string QualityCell(skynet::v1::QualityState worst,
                        const google::protobuf::RepeatedPtrField<std::string>& faults);

// What `skynetctl quality` prints: per camera (worst first, then in the daemon's order) a line
// with its worst state and reference view, then a table of its checks (state, score, since).
std::string FormatQualityReport(const skynet::v1::QualityResponse& quality);

// What `skynetctl reload` prints: one line of counts with the ids that changed, then the
// runtime cameras the reload removed and any warnings, one per line.
std::string FormatReloadReport(const skynet::v1::ReloadResponse& reload);

}  // namespace skynet::ctl
