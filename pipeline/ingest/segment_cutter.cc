#include "pipeline/ingest/segment_cutter.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/error.h>
}

#include <cstdio>
#include <memory>

namespace skynet::ingest {
namespace {

std::string AvError(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

struct InputCloser {
  void operator()(AVFormatContext* ic) const { avformat_close_input(&ic); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

}  // namespace

Result<CutResult> CutRecordedSegments(const std::vector<RecordedSegment>& segments,
                                      int64_t from_us, int64_t to_us, Mp4Remuxer::Write write) {
  CutResult result;
  std::unique_ptr<Mp4Remuxer> mux;
  std::shared_ptr<const EncodedFormat> format;
  std::vector<EncodedUnit> pending;  // the group of pictures before from_us, from its key frame
  std::vector<std::string> damaged;
  uint64_t seq = 0;
  bool done = false;
  int64_t last_read_us = 0;  // capture time of the last picture read (any segment)

  auto emit = [&](const EncodedUnit& u) -> Status {
    if (!mux) {
      SKYNET_ASSIGN_OR_RETURN(mux, Mp4Remuxer::Create(*u.format, u, write));
      result.start_us = u.capture_us;
    }
    SKYNET_RETURN_IF_ERROR(mux->Add(u));
    result.end_us = u.capture_us;
    ++result.units;
    return Status::Ok();
  };

  for (const RecordedSegment& seg : segments) {
    if (done) break;
    AVFormatContext* raw = nullptr;
    int err = avformat_open_input(&raw, seg.path.c_str(), nullptr, nullptr);
    if (err < 0) {
      damaged.push_back(seg.name);
      result.notes.push_back("skipped damaged segment " + seg.name + ": " + AvError(err));
      continue;
    }
    last_read_us = seg.start_us;
    std::unique_ptr<AVFormatContext, InputCloser> ic(raw);
    const int index = av_find_best_stream(ic.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (index < 0) {
      damaged.push_back(seg.name);
      result.notes.push_back("skipped damaged segment " + seg.name + ": no video stream");
      continue;
    }
    const AVStream* st = ic->streams[index];
    const AVCodecParameters* par = st->codecpar;
    auto f = std::make_shared<EncodedFormat>();
    f->codec = par->codec_id == AV_CODEC_ID_HEVC ? "h265" : "h264";
    if (par->codec_id != AV_CODEC_ID_H264 && par->codec_id != AV_CODEC_ID_HEVC) {
      damaged.push_back(seg.name);
      result.notes.push_back("skipped segment " + seg.name + ": neither H.264 nor H.265");
      continue;
    }
    if (par->extradata_size > 0) {
      f->codec_data.assign(reinterpret_cast<const char*>(par->extradata), par->extradata_size);
    }
    f->width = par->width;
    f->height = par->height;
    if (format && (format->codec != f->codec || format->codec_data != f->codec_data ||
                   format->width != f->width || format->height != f->height)) {
      if (mux) {
        result.notes.push_back("the stream changed at " + seg.name +
                               " (codec, size or parameter sets): the clip ends before it");
        break;
      }
      pending.clear();  // nothing written yet: start over with this stream
    }
    if (!format || !mux) format = f;
    ++result.segments;
    std::unique_ptr<AVPacket, PacketFree> pkt(av_packet_alloc());
    int64_t zero = AV_NOPTS_VALUE;  // the first picture's presentation time: its start_us
    const AVRational us{1, 1'000'000};
    while (!done) {
      err = av_read_frame(ic.get(), pkt.get());
      if (err == AVERROR_EOF) break;
      if (err < 0) {
        if (!seg.growing) {
          char at[32];
          std::snprintf(at, sizeof at, "%.1f", (last_read_us - seg.start_us) / 1e6);
          result.notes.push_back("segment " + seg.name + " is damaged after " + at + " s: " +
                                 AvError(err) + "; the rest of it is skipped");
        }
        break;
      }
      if (pkt->stream_index != index || pkt->size <= 0) {
        av_packet_unref(pkt.get());
        continue;
      }
      const int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
      const int64_t dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pts;
      if (zero == AV_NOPTS_VALUE) zero = pts;
      EncodedUnit u;
      u.seq = ++seq;
      u.capture_us = seg.start_us + av_rescale_q(pts - zero, st->time_base, us);
      u.pts_ns = u.capture_us * 1000;
      u.dts_ns = seg.start_us * 1000 + av_rescale_q(dts - zero, st->time_base, us) * 1000;
      if (pkt->duration > 0) u.duration_ns = av_rescale_q(pkt->duration, st->time_base, us) * 1000;
      u.key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
      u.data = std::make_shared<const std::string>(reinterpret_cast<const char*>(pkt->data),
                                                   static_cast<size_t>(pkt->size));
      u.format = format;
      av_packet_unref(pkt.get());
      last_read_us = u.capture_us;
      if (mux) {
        if (u.capture_us > to_us) {
          done = true;
          break;
        }
        SKYNET_RETURN_IF_ERROR(emit(u));
        continue;
      }
      // Not started: keep the group of pictures up to from_us, from its key frame.
      if (u.key && u.capture_us <= from_us) {
        pending.clear();
        pending.push_back(std::move(u));
        continue;
      }
      if (pending.empty() && !u.key) continue;  // before the first key frame
      if (u.capture_us <= from_us) {
        pending.push_back(std::move(u));
        continue;
      }
      // The first picture after from_us: the clip starts at the pending key frame, or here
      // (a key frame) when the recording starts after from_us.
      if (u.capture_us > to_us && pending.empty()) {
        done = true;
        break;
      }
      if (pending.empty()) {
        result.notes.push_back("the recording starts after the requested start, at " +
                               seg.name);
      }
      for (const EncodedUnit& p : pending) SKYNET_RETURN_IF_ERROR(emit(p));
      pending.clear();
      if (u.capture_us > to_us) {
        done = true;
        break;
      }
      SKYNET_RETURN_IF_ERROR(emit(u));
    }
  }
  if (!mux) {
    if (!damaged.empty() && result.segments == 0) {
      std::string names;
      for (const std::string& d : damaged) names += (names.empty() ? "" : ", ") + d;
      return Status::IoError("every recorded segment of that time is damaged: " + names);
    }
    return Status::NotFound("nothing recorded between the requested times in " +
                            std::to_string(segments.size()) + " segments");
  }
  if (result.end_us < to_us && !done) {
    result.notes.push_back("the recording ends before the requested end");
  }
  SKYNET_RETURN_IF_ERROR(mux->Finish());
  return result;
}

}  // namespace skynet::ingest
