#include "skynet/protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace skynet::protocol {
namespace {

v1::Event OnCamera(const std::string& camera) {
  v1::Event ev;
  ev.set_camera_id(camera);
  return ev;
}

TEST(TopicForTest, NamesKindAndCamera) {
  v1::Event motion = OnCamera("cam7");
  motion.mutable_motion_started()->set_motion_id(1);
  EXPECT_EQ(TopicFor(motion), "motion/cam7");
  v1::Event status = OnCamera("cam7");
  status.mutable_camera_status();
  EXPECT_EQ(TopicFor(status), "camera/cam7");
  v1::Event hb;
  hb.mutable_heartbeat();
  EXPECT_EQ(TopicFor(hb), "heartbeat");
}

TEST(TopicForTest, StreamChangesTravelWithTheCameraAndUnknownPayloadsAsOther) {
  v1::Event stream = OnCamera("c1");
  stream.mutable_stream_changed();
  EXPECT_EQ(CategoryOf(stream), EventCategory::kStream);
  EXPECT_EQ(TopicFor(stream), "camera/c1");
  EXPECT_EQ(CategoryOf(OnCamera("c1")), EventCategory::kUnknown);
  EXPECT_EQ(TopicFor(OnCamera("c1")), "other/c1");
}

TEST(CategoryTest, EveryPayloadHasACategoryAndItsTopicStartsWithIt) {
  const v1::Event prototype;
  const google::protobuf::OneofDescriptor* payload =
      prototype.GetDescriptor()->FindOneofByName("payload");
  ASSERT_NE(payload, nullptr);
  for (int i = 0; i < payload->field_count(); ++i) {
    v1::Event ev = OnCamera("c9");
    const google::protobuf::FieldDescriptor* field = payload->field(i);
    ev.GetReflection()->MutableMessage(&ev, field);
    const EventCategory category = CategoryOf(ev);
    EXPECT_NE(category, EventCategory::kUnknown) << field->name();
    EXPECT_EQ(ParseCategory(CategoryName(category)), category) << field->name();
    const std::string topic = TopicFor(ev);
    if (category != EventCategory::kStream) {
      EXPECT_EQ(topic.rfind(CategoryName(category), 0), 0u) << field->name() << " " << topic;
    }
  }
  EXPECT_EQ(ParseCategory("unknown"), std::nullopt);
  EXPECT_EQ(ParseCategory("motions"), std::nullopt);
}

TEST(EnvelopeTest, StampsSchemaNodeEpochSeqAndId) {
  v1::Event ev = OnCamera("cam1");
  StampEnvelope("gate-1", 1732800000000000, 41, &ev);
  EXPECT_EQ(ev.schema_version(), kSchemaVersion);
  EXPECT_EQ(ev.node_id(), "gate-1");
  EXPECT_EQ(ev.epoch(), 1732800000000000u);
  EXPECT_EQ(ev.seq(), 41u);
  EXPECT_EQ(ev.event_id(), "gate-1/1732800000000000/41");
  EXPECT_EQ(EventId("offline", 0, 3), "offline/0/3");
}

TEST(ParseLimitedTest, RefusesOversizedAndTrailingGarbage) {
  v1::Event ev = OnCamera("cam1");
  StampEnvelope("n", 1, 1, &ev);
  const std::string bytes = ev.SerializeAsString();
  v1::Event out;
  EXPECT_TRUE(ParseLimited(&out, bytes.data(), bytes.size(), bytes.size()));
  EXPECT_EQ(out.event_id(), "n/1/1");
  EXPECT_FALSE(ParseLimited(&out, bytes.data(), bytes.size(), bytes.size() - 1));
  const std::string garbage = bytes + "\xff";
  EXPECT_FALSE(ParseLimited(&out, garbage.data(), garbage.size(), 1 << 20));
}

}  // namespace
}  // namespace skynet::protocol
