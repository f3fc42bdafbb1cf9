#include "tools/camsim/encoded_loop.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <condition_variable>
#include <mutex>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "tools/scenegen/scene.h"

namespace skynet::camsim {
namespace {

struct ObjectUnref {
  void operator()(gpointer p) const { gst_object_unref(p); }
};
template <typename T>
using ObjPtr = std::unique_ptr<T, ObjectUnref>;

struct MessageUnref {
  void operator()(GstMessage* m) const { gst_message_unref(m); }
};

// A pipeline that goes to NULL before its last unref.
struct PipelineDeleter {
  void operator()(GstElement* p) const {
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
  }
};
using PipelinePtr = std::unique_ptr<GstElement, PipelineDeleter>;

constexpr auto kEncodeDeadline = std::chrono::seconds(180);

// Filled by the appsink's streaming thread, read by EncodeLoop() once the pipeline stopped.
struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  size_t max_units = 0;
  std::vector<BufferPtr> units;
  CapsPtr caps;
  bool full = false;
};

GstFlowReturn OnNewSample(GstAppSink* sink, gpointer user_data) noexcept {
  auto* c = static_cast<Collector*>(user_data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (sample == nullptr) return GST_FLOW_EOS;
  std::lock_guard<std::mutex> lock(c->mu);
  GstFlowReturn ret = GST_FLOW_OK;
  if (c->units.size() < c->max_units) {
    if (!c->caps) c->caps.reset(gst_caps_ref(gst_sample_get_caps(sample)));
    c->units.emplace_back(gst_buffer_ref(gst_sample_get_buffer(sample)));
  }
  if (c->units.size() >= c->max_units) {
    c->full = true;
    c->cv.notify_all();
    ret = GST_FLOW_EOS;  // a long file: we have enough
  }
  gst_sample_unref(sample);
  return ret;
}

std::string EncoderChain(const CameraSpec& s) {
  const std::string enc = s.codec == "h265" ? "x265enc" : "x264enc";
  const std::string parse = s.codec == "h265" ? "h265parse" : "h264parse";
  const std::string media = s.codec == "h265" ? "video/x-h265" : "video/x-h264";
  // B frames that no picture refers to (no pyramid), in a fixed pattern (no adaptive choice).
  // x265 takes them as options, which override its zerolatency tune; it needs a lookahead longer
  // than the B frame run.
  std::string bframes;
  if (s.bframes > 0 && s.codec == "h265") {
    bframes = " option-string=\"bframes=" + std::to_string(s.bframes) +
              ":b-adapt=0:b-pyramid=0:rc-lookahead=" + std::to_string(s.bframes + 1) + "\"";
  } else if (s.bframes > 0) {
    bframes = " bframes=" + std::to_string(s.bframes) + " b-adapt=false b-pyramid=false";
  }
  return enc +
         " name=enc tune=zerolatency speed-preset=ultrafast key-int-max=" + std::to_string(s.fps) +
         bframes + " bitrate=" + std::to_string(s.bitrate_kbps) + " ! " + parse +
         " config-interval=-1 ! " +
         media + ",stream-format=byte-stream,alignment=au ! appsink name=sink sync=false";
}

// Waits for EOS, an error, or a full collector. Returns the error if any.
Status Drain(GstElement* pipeline, Collector* c, const std::string& what) {
  ObjPtr<GstBus> bus(gst_element_get_bus(pipeline));
  const auto deadline = std::chrono::steady_clock::now() + kEncodeDeadline;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(c->mu);
      if (c->full) return Status::Ok();
    }
    std::unique_ptr<GstMessage, MessageUnref> msg(gst_bus_timed_pop_filtered(
        bus.get(), 50 * GST_MSECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
    if (!msg) continue;
    if (GST_MESSAGE_TYPE(msg.get()) == GST_MESSAGE_EOS) return Status::Ok();
    GError* err = nullptr;
    gchar* dbg = nullptr;
    gst_message_parse_error(msg.get(), &err, &dbg);
    std::string text = what + ": " + (err ? err->message : "unknown error");
    g_clear_error(&err);
    g_free(dbg);
    return Status::IoError(text);
  }
  return Status::DeadlineExceeded(what + ": encoding did not finish in time");
}

Result<PipelinePtr> Launch(const std::string& description) {
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(description.c_str(), &err);
  if (err != nullptr) {
    std::string m = err->message;
    g_clear_error(&err);
    if (p) gst_object_unref(p);
    return Status::Internal("camsim: cannot build encoder pipeline: " + m);
  }
  return PipelinePtr(p);
}

void AttachCollector(GstElement* pipeline, Collector* c) {
  ObjPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(pipeline), "sink"));
  GstAppSinkCallbacks cbs{};
  cbs.new_sample = &OnNewSample;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink.get()), &cbs, c, nullptr);
}

// Applies a picture fault (CameraSpec::picture; "freeze" is the caller's) to a rendered frame.
void ApplyPicture(const std::string& picture, cv::Mat* bgr) {
  const int w = bgr->cols, h = bgr->rows;
  if (picture == "cover") {
    cv::rectangle(*bgr, cv::Rect(int(0.3 * w), int(0.2 * h), int(0.45 * w), int(0.55 * h)),
                  cv::Scalar(58, 62, 60), cv::FILLED);
  } else if (picture == "blur") {
    cv::GaussianBlur(*bgr, *bgr, cv::Size(), w / 100.0);
  } else if (picture == "knock") {
    cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(w / 2.0f, h / 2.0f), 4.0, 1.0);
    m.at<double>(0, 2) += 0.06 * w;
    m.at<double>(1, 2) += 0.02 * h;
    cv::Mat out;
    cv::warpAffine(*bgr, out, m, bgr->size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    *bgr = out;
  } else if (picture == "tint") {
    std::vector<cv::Mat> planes;
    cv::split(*bgr, planes);
    planes[0].convertTo(planes[0], -1, 0.6);
    planes[2].convertTo(planes[2], -1, 1.5);
    cv::merge(planes, *bgr);
  }
}

Status RenderInto(const CameraSpec& s, GstElement* pipeline, Collector* c) {
  auto kind = scenegen::ParseSceneKind(s.scene);
  if (!kind) return kind.status();
  auto renderer = scenegen::SceneRenderer::Create({.kind = *kind,
                                                   .width = s.width,
                                                   .height = s.height,
                                                   .fps = static_cast<double>(s.fps),
                                                   .seed = s.seed,
                                                   .period_seconds = double(s.loop_seconds)});
  if (!renderer) return renderer.status();
  ObjPtr<GstElement> src(gst_bin_get_by_name(GST_BIN(pipeline), "src"));
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    return Status::Internal("camsim: encoder pipeline does not start");
  }
  const GstClockTime dur = gst_util_uint64_scale_int(GST_SECOND, 1, s.fps);
  cv::Mat bgr;
  for (size_t i = 0; i < c->max_units; ++i) {
    // freeze: the first frame over and over (its key frame is repeated after encoding).
    if (i == 0 || s.picture != "freeze") {
      (*renderer)->Render(static_cast<int64_t>(i), &bgr);
      ApplyPicture(s.picture, &bgr);
    }
    GstBuffer* buf = gst_buffer_new_memdup(bgr.data, bgr.total() * bgr.elemSize());
    GST_BUFFER_PTS(buf) = i * dur;
    GST_BUFFER_DURATION(buf) = dur;
    // Blocks while the encoder is busy (block=true), so only a few raw frames exist at once.
    if (gst_app_src_push_buffer(GST_APP_SRC(src.get()), buf) != GST_FLOW_OK) break;
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
  return Status::Ok();
}

}  // namespace

bool HasElement(const char* name) {
  ObjPtr<GstElementFactory> f(gst_element_factory_find(name));
  return f != nullptr;
}

std::string LoopKey(const CameraSpec& s) {
  return s.scene + "|" + s.file + "|" + std::to_string(s.width) + "x" + std::to_string(s.height) +
         "@" + std::to_string(s.fps) + "|" + std::to_string(s.bitrate_kbps) + "|" + s.codec + "|" +
         std::to_string(s.seed) + "|" + std::to_string(s.loop_seconds) + "|" +
         std::to_string(s.bframes) + "|" + s.picture;
}

Result<std::shared_ptr<const EncodedLoop>> EncodeLoop(const CameraSpec& s) {
  SKYNET_RETURN_IF_ERROR(ValidateCameraSpec(s));
  const std::string where = "camera '" + s.name + "': ";
  for (const char* e : {s.codec == "h265" ? "x265enc" : "x264enc",
                        s.codec == "h265" ? "h265parse" : "h264parse", "videoconvert"}) {
    if (!HasElement(e)) {
      return Status::Unavailable(where + "codec " + s.codec + " needs the GStreamer element '" + e +
                                 "', which is not installed");
    }
  }
  Collector collector;
  collector.max_units = static_cast<size_t>(s.loop_seconds) * static_cast<size_t>(s.fps);
  std::string description;
  if (s.scene == "file") {
    GError* err = nullptr;
    gchar* uri = gst_filename_to_uri(s.file.c_str(), &err);
    if (uri == nullptr) {
      std::string m = err ? err->message : "bad path";
      g_clear_error(&err);
      return Status::InvalidArgument(where + "file '" + s.file + "': " + m);
    }
    // Only the video stream is exposed (expose-all-streams=false below), so files with
    // audio do not stall on an unlinked pad.
    description = std::string("uridecodebin name=dec uri=\"") + uri +
                  "\" ! videoconvert ! videoscale ! videorate ! video/x-raw,width=" +
                  std::to_string(s.width) + ",height=" + std::to_string(s.height) +
                  ",framerate=" + std::to_string(s.fps) +
                  "/1,pixel-aspect-ratio=1/1,format=I420 ! " + EncoderChain(s);
    g_free(uri);
  } else {
    const size_t frame_bytes = static_cast<size_t>(s.width) * s.height * 3;
    description =
        "appsrc name=src format=time block=true max-bytes=" + std::to_string(3 * frame_bytes) +
        " caps=video/x-raw,format=BGR,width=" + std::to_string(s.width) +
        ",height=" + std::to_string(s.height) + ",framerate=" + std::to_string(s.fps) +
        "/1 ! videoconvert ! video/x-raw,format=I420 ! " + EncoderChain(s);
  }
  auto pipeline = Launch(description);
  if (!pipeline) return pipeline.status();
  AttachCollector(pipeline->get(), &collector);

  Status st;
  if (s.scene == "file") {
    ObjPtr<GstElement> dec(gst_bin_get_by_name(GST_BIN(pipeline->get()), "dec"));
    // ANY features: plain "video/x-raw" makes decodebin reject decoders here.
    CapsPtr video(gst_caps_from_string("video/x-raw(ANY)"));
    g_object_set(dec.get(), "expose-all-streams", FALSE, "caps", video.get(), nullptr);
    if (gst_element_set_state(pipeline->get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      st = Status::IoError(where + "cannot open file '" + s.file + "'");
    }
  } else {
    st = RenderInto(s, pipeline->get(), &collector);
  }
  const std::string what =
      where + (s.scene == "file" ? "decoding '" + s.file + "'" : "encoding " + s.scene);
  if (st.ok()) st = Drain(pipeline->get(), &collector, what);
  pipeline->reset();  // to NULL: no more callbacks touch the collector
  if (!st.ok()) return st;
  if (collector.units.empty() || !collector.caps) {
    return Status::IoError(where + "encoder produced no frames");
  }
  if (GST_BUFFER_FLAG_IS_SET(collector.units.front().get(), GST_BUFFER_FLAG_DELTA_UNIT)) {
    return Status::Internal(where + "encoded loop does not start on a keyframe");
  }
  if (s.picture == "freeze") {
    // A frozen picture: the first key frame over and over, so that every frame decodes to the
    // same picture (P-frames of a still keep refining it, key frames re-quantise it).
    for (BufferPtr& unit : collector.units) unit.reset(gst_buffer_ref(collector.units[0].get()));
  }
  auto loop = std::make_shared<EncodedLoop>();
  loop->codec = s.codec;
  loop->caps = std::move(collector.caps);
  loop->units = std::move(collector.units);
  loop->frame_duration = gst_util_uint64_scale_int(GST_SECOND, 1, s.fps);
  // Presentation order: unit i (decode order) shows as picture display_i of the loop; served
  // PTS = DTS + (display_i - i + delay) frames, delay the deepest reordering, so PTS >= DTS.
  std::vector<int64_t> display(loop->units.size());
  int64_t delay = std::numeric_limits<int64_t>::min();  // the smallest offset becomes 0
  for (size_t i = 0; i < loop->units.size(); ++i) {
    const GstBuffer* u = loop->units[i].get();
    display[i] = GST_BUFFER_PTS_IS_VALID(u)
                     ? static_cast<int64_t>((GST_BUFFER_PTS(u) + loop->frame_duration / 2) /
                                            loop->frame_duration)
                     : static_cast<int64_t>(i);
    delay = std::max(delay, static_cast<int64_t>(i) - display[i]);
  }
  loop->pts_offset.resize(loop->units.size());
  for (size_t i = 0; i < loop->units.size(); ++i) {
    loop->pts_offset[i] = static_cast<int>(display[i] - static_cast<int64_t>(i) + delay);
  }
  return std::shared_ptr<const EncodedLoop>(std::move(loop));
}

}  // namespace skynet::camsim
