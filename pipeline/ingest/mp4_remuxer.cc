#include "pipeline/ingest/mp4_remuxer.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/error.h>
}

#include <string>

namespace skynet::ingest {
namespace {

constexpr AVRational kTimeBase{1, 90000};
constexpr int kIoBufferBytes = 64 << 10;

std::string AvError(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

// The parameter sets (H.264 SPS/PPS, H.265 VPS/SPS/PPS) of an Annex B unit, each behind a
// 4-byte start code, as libavformat takes Annex B extradata.
std::string ParameterSets(const std::string& codec, const std::string& au) {
  std::string out;
  const auto* p = reinterpret_cast<const uint8_t*>(au.data());
  const size_t n = au.size();
  size_t i = 0;
  auto next_start = [&](size_t from) {
    for (size_t k = from; k + 3 <= n; ++k) {
      if (p[k] == 0 && p[k + 1] == 0 && p[k + 2] == 1) return k;
    }
    return n;
  };
  i = next_start(0);
  while (i < n) {
    const size_t nal = i + 3;
    size_t end = next_start(nal);
    const size_t next = end;
    while (end > nal && p[end - 1] == 0) --end;  // trailing zeros / the 4-byte code's zero
    if (nal < end) {
      const int type = codec == "h265" ? (p[nal] >> 1) & 0x3f : p[nal] & 0x1f;
      const bool ps = codec == "h265" ? (type >= 32 && type <= 34) : (type == 7 || type == 8);
      if (ps) {
        out.append("\0\0\0\1", 4);
        out.append(reinterpret_cast<const char*>(p + nal), end - nal);
      }
    }
    i = next;
  }
  return out;
}

}  // namespace

struct Mp4Remuxer::Impl {
  Write write;
  Status write_status = Status::Ok();
  AVFormatContext* oc = nullptr;
  AVIOContext* io = nullptr;
  AVPacket* pkt = nullptr;
  int64_t base_ns = 0;
  int64_t last_dts = INT64_MIN;
  bool finished = false;

  ~Impl() {
    if (pkt) av_packet_free(&pkt);
    if (io) {
      av_freep(&io->buffer);
      avio_context_free(&io);
    }
    if (oc) avformat_free_context(oc);
  }

  static int WritePacket(void* opaque, uint8_t* buf, int size) {
    auto* self = static_cast<Impl*>(opaque);
    if (!self->write_status.ok()) return AVERROR(EIO);
    self->write_status = self->write(buf, static_cast<size_t>(size));
    return self->write_status.ok() ? size : AVERROR(EIO);
  }

  Status Fail(const char* what, int err) {
    if (!write_status.ok()) return write_status;
    return Status::Internal(std::string("mp4 remux: ") + what + ": " + AvError(err));
  }
};

Mp4Remuxer::Mp4Remuxer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Mp4Remuxer::~Mp4Remuxer() = default;

Result<std::unique_ptr<Mp4Remuxer>> Mp4Remuxer::Create(const EncodedFormat& format,
                                                       const EncodedUnit& first, Write write) {
  if (!first.key || !first.data) {
    return Status::InvalidArgument("mp4 remux: a clip must start at a key frame");
  }
  std::string extradata = format.codec_data;
  if (extradata.empty()) extradata = ParameterSets(format.codec, *first.data);
  if (extradata.empty()) {
    return Status::InvalidArgument("mp4 remux: no parameter sets in the stream's first key frame");
  }
  auto impl = std::make_unique<Impl>();
  impl->write = std::move(write);
  int err = avformat_alloc_output_context2(&impl->oc, nullptr, "mp4", nullptr);
  if (err < 0 || !impl->oc) return impl->Fail("no mp4 muxer", err);
  auto* buffer = static_cast<uint8_t*>(av_malloc(kIoBufferBytes));
  impl->io = avio_alloc_context(buffer, kIoBufferBytes, 1, impl.get(), nullptr, &Impl::WritePacket,
                                nullptr);
  if (!impl->io) {
    av_free(buffer);
    return Status::Internal("mp4 remux: out of memory");
  }
  impl->oc->pb = impl->io;
  impl->oc->flags |= AVFMT_FLAG_CUSTOM_IO;
  AVStream* st = avformat_new_stream(impl->oc, nullptr);
  if (!st) return Status::Internal("mp4 remux: out of memory");
  st->time_base = kTimeBase;
  AVCodecParameters* par = st->codecpar;
  par->codec_type = AVMEDIA_TYPE_VIDEO;
  par->codec_id = format.codec == "h265" ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
  par->width = format.width;
  par->height = format.height;
  par->extradata =
      static_cast<uint8_t*>(av_mallocz(extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!par->extradata) return Status::Internal("mp4 remux: out of memory");
  memcpy(par->extradata, extradata.data(), extradata.size());
  par->extradata_size = static_cast<int>(extradata.size());
  if (format.codec == "h265") par->codec_tag = MKTAG('h', 'v', 'c', '1');
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
  av_dict_set(&opts, "frag_duration", "1000000", 0);
  err = avformat_write_header(impl->oc, &opts);
  av_dict_free(&opts);
  if (err < 0) return impl->Fail("header", err);
  impl->pkt = av_packet_alloc();
  if (!impl->pkt) return Status::Internal("mp4 remux: out of memory");
  impl->base_ns = first.dts_ns >= 0 ? first.dts_ns : std::max<int64_t>(0, first.pts_ns);
  return std::unique_ptr<Mp4Remuxer>(new Mp4Remuxer(std::move(impl)));
}

Status Mp4Remuxer::Add(const EncodedUnit& unit) {
  Impl& m = *impl_;
  if (m.finished) return Status::Unavailable("mp4 remux: finished");
  if (!unit.data || unit.data->empty()) return Status::Ok();
  auto ticks = [&](int64_t ns) { return av_rescale(ns - m.base_ns, kTimeBase.den, 1'000'000'000); };
  int64_t dts = unit.dts_ns >= 0 ? ticks(unit.dts_ns)
                : unit.pts_ns >= 0 ? ticks(unit.pts_ns)
                                   : (m.last_dts == INT64_MIN ? 0 : m.last_dts + 3000);
  if (m.last_dts != INT64_MIN && dts <= m.last_dts) dts = m.last_dts + 1;
  int64_t pts = unit.pts_ns >= 0 ? ticks(unit.pts_ns) : dts;
  if (pts < dts) pts = dts;
  m.last_dts = dts;
  AVPacket* pkt = m.pkt;
  av_packet_unref(pkt);
  pkt->data = reinterpret_cast<uint8_t*>(const_cast<char*>(unit.data->data()));
  pkt->size = static_cast<int>(unit.data->size());
  pkt->stream_index = 0;
  pkt->flags = unit.key ? AV_PKT_FLAG_KEY : 0;
  pkt->pts = pts;
  pkt->dts = dts;
  pkt->duration = unit.duration_ns > 0 ? av_rescale(unit.duration_ns, kTimeBase.den, 1'000'000'000) : 0;
  av_packet_rescale_ts(pkt, kTimeBase, m.oc->streams[0]->time_base);
  const int err = av_write_frame(m.oc, pkt);
  pkt->data = nullptr;
  pkt->size = 0;
  if (err < 0) return m.Fail("write", err);
  ++units_;
  return Status::Ok();
}

Status Mp4Remuxer::Finish() {
  Impl& m = *impl_;
  if (m.finished) return Status::Ok();
  m.finished = true;
  const int err = av_write_trailer(m.oc);
  avio_flush(m.io);
  if (err < 0) return m.Fail("trailer", err);
  return m.write_status;
}

}  // namespace skynet::ingest
