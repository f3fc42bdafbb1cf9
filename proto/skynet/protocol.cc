#include "skynet/protocol.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/message_lite.h>

#include <algorithm>
#include <climits>

namespace skynet::protocol {

EventCategory CategoryOf(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kCameraStatus:
      return EventCategory::kCamera;
    case v1::Event::kStreamChanged:
      return EventCategory::kStream;
    case v1::Event::kMotionStarted:
    case v1::Event::kMotionUpdated:
    case v1::Event::kMotionEnded:
      return EventCategory::kMotion;
    case v1::Event::kVehicleNew:
    case v1::Event::kVehicleUpdated:
    case v1::Event::kVehicleEnded:
      return EventCategory::kVehicle;
    case v1::Event::kLineCrossed:
    case v1::Event::kZoneEntered:
    case v1::Event::kZoneLeft:
    case v1::Event::kVehicleStopped:
    case v1::Event::kWrongWay:
    case v1::Event::kSpeeding:
    case v1::Event::kTrafficStats:
      return EventCategory::kTraffic;
    case v1::Event::kHeartbeat:
      return EventCategory::kHeartbeat;
    case v1::Event::kJournalStatus:
      return EventCategory::kJournal;
    case v1::Event::kVehicleRecord:
      return EventCategory::kRecord;
    case v1::Event::kVideoQuality:
      return EventCategory::kQuality;
    case v1::Event::kClipStored:
      return EventCategory::kClip;
    case v1::Event::PAYLOAD_NOT_SET:
      break;
  }
  return EventCategory::kUnknown;
}

const char* CategoryName(EventCategory category) {
  switch (category) {
    case EventCategory::kCamera:
      return "camera";
    case EventCategory::kStream:
      return "stream";
    case EventCategory::kMotion:
      return "motion";
    case EventCategory::kVehicle:
      return "vehicle";
    case EventCategory::kTraffic:
      return "traffic";
    case EventCategory::kHeartbeat:
      return "heartbeat";
    case EventCategory::kJournal:
      return "journal";
    case EventCategory::kRecord:
      return "record";
    case EventCategory::kQuality:
      return "quality";
    case EventCategory::kClip:
      return "clip";
    case EventCategory::kUnknown:
      break;
  }
  return "unknown";
}

std::optional<EventCategory> ParseCategory(std::string_view name) {
  for (EventCategory c : kKnownCategories) {
    if (name == CategoryName(c)) return c;
  }
  return std::nullopt;
}

std::string TopicFor(const v1::Event& event) {
  switch (CategoryOf(event)) {
    case EventCategory::kCamera:
    case EventCategory::kStream:  // stream changes travel with the camera's status
      return "camera/" + event.camera_id();
    case EventCategory::kHeartbeat:
      return "heartbeat";
    case EventCategory::kJournal:
      return "journal";
    case EventCategory::kUnknown:
      return "other/" + event.camera_id();
    case EventCategory::kMotion:
    case EventCategory::kVehicle:
    case EventCategory::kTraffic:
    case EventCategory::kRecord:
    case EventCategory::kQuality:
    case EventCategory::kClip:
      break;
  }
  return std::string(CategoryName(CategoryOf(event))) + "/" + event.camera_id();
}

std::string EventId(std::string_view node_id, uint64_t epoch, uint64_t seq) {
  std::string id(node_id);
  id += '/';
  id += std::to_string(epoch);
  id += '/';
  id += std::to_string(seq);
  return id;
}

void StampEnvelope(std::string_view node_id, uint64_t epoch, uint64_t seq, v1::Event* event) {
  event->set_schema_version(kSchemaVersion);
  event->set_node_id(std::string(node_id));
  event->set_epoch(epoch);
  event->set_seq(seq);
  event->set_event_id(EventId(node_id, epoch, seq));
}

bool ParseLimited(google::protobuf::MessageLite* message, const void* data, size_t size,
                  size_t max_bytes) {
  if (size > max_bytes || size > static_cast<size_t>(INT_MAX)) return false;
  google::protobuf::io::CodedInputStream in(static_cast<const uint8_t*>(data),
                                            static_cast<int>(size));
  in.SetTotalBytesLimit(static_cast<int>(std::min<size_t>(max_bytes, INT_MAX)));
  in.SetRecursionLimit(16);
  return message->ParseFromCodedStream(&in) && in.ConsumedEntireMessage();
}

}  // namespace skynet::protocol
