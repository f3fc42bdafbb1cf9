// What both ends of the event feed agree on beyond the .proto files: the category of an event,
// the topic it is published under, the envelope every event carries (event id included), and
// bounded parsing of untrusted messages. One definition, used by the daemon (event bus, offline
// analysis, control and replay servers), skynetctl and the client library.
//
//   v1::Event ev = ...;                             // payload and camera_id set
//   StampEnvelope("gate-1", epoch, seq, &ev);       // event_id "gate-1/<epoch>/<seq>"
//   socket.send(TopicFor(ev)) ...                   // "motion/cam1"
//
// Pure functions: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "skynet/v1/events.pb.h"

namespace google::protobuf {
class MessageLite;
}

namespace skynet::protocol {

// Schema version stamped in every event (Event.schema_version).
inline constexpr uint32_t kSchemaVersion = 1;

// The largest control message skynetd reads at all (the ZMQ_MAXMSGSIZE of its control socket).
// It answers every request up to this size, those over its control.max_request_bytes with
// "request too large"; a larger one would be dropped with its connection, unanswered, so the
// client refuses to send it.
inline constexpr int64_t kMaxControlMessageBytes = 16 << 20;

// What an event is about; skynetctl's `tail --type` names and the topic prefixes derive from it.
enum class EventCategory {
  kUnknown = 0,  // a payload this build does not know (a newer daemon)
  kCamera,       // camera_status
  kStream,       // stream_changed
  kMotion,       // motion_started/updated/ended
  kVehicle,      // vehicle_new/updated/ended
  kTraffic,      // line_crossed, zone_entered/left, vehicle_stopped, wrong_way, speeding, stats
  kHeartbeat,
  kJournal,      // journal_status (node-wide)
  kRecord,       // vehicle_record
  kQuality,      // video_quality
  kClip,         // clip_stored
};

// Every known category, in the order skynetctl lists them; a new payload's category is added
// here and in CategoryName().
inline constexpr EventCategory kKnownCategories[] = {
    EventCategory::kCamera,  EventCategory::kStream,    EventCategory::kMotion,
    EventCategory::kVehicle, EventCategory::kTraffic,   EventCategory::kRecord,
    EventCategory::kJournal, EventCategory::kQuality,   EventCategory::kClip,
    EventCategory::kHeartbeat,
};

EventCategory CategoryOf(const v1::Event& event);
// "camera", "stream", "motion", "vehicle", "traffic", "heartbeat", "journal", "record",
// "quality", "clip";
// "unknown" for kUnknown.
const char* CategoryName(EventCategory category);
// The inverse of CategoryName() for the known categories; nullopt otherwise.
std::optional<EventCategory> ParseCategory(std::string_view name);

// Topic of an event on the feed: "<prefix>/<camera_id>" ("camera/cam1" for camera and stream
// events, "motion/cam1", "vehicle/cam1", "traffic/cam1", "record/cam1", "quality/cam1",
// "clip/cam1", "other/cam1" for unknown payloads) and "heartbeat" for heartbeats. Subscribers
// filter on topic prefixes.
std::string TopicFor(const v1::Event& event);

// "<node_id>/<epoch>/<seq>": the unique id of an event (docs/events.md).
std::string EventId(std::string_view node_id, uint64_t epoch, uint64_t seq);

// Sets the envelope: schema_version, node_id, epoch, seq and event_id.
void StampEnvelope(std::string_view node_id, uint64_t epoch, uint64_t seq, v1::Event* event);

// Parses `size` bytes into `message` with explicit limits: at most `max_bytes`, nesting depth 16,
// and the whole input consumed. False for anything else.
bool ParseLimited(google::protobuf::MessageLite* message, const void* data, size_t size,
                  size_t max_bytes);

}  // namespace skynet::protocol
