// msccnet_av: video decoding and encoding in this process, through the FFmpeg libraries that the
// ffmpeg command line is built on. Each function reproduces one ffmpeg command of src/data/video.ts
// exactly: the same demuxer, decoder and encoder with the same options, and the same pixel
// conversion (the scale filter that ffmpeg inserts, with its default flags=bicubic). The outputs
// are byte for byte the command's (test/data/video.test.ts compares them).
//
// Why: an ffmpeg process start maps and relocates 216 shared libraries (about 3,600 page faults),
// and each process faults in its codec buffers afresh (about 2,500 more per x264 encoder). The
// demo's data stages started 90 of them: 1.1 M of its 2.7 M page faults. Here the libraries load
// once per process and freed codec buffers are reused.
#include <napi.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

#include <malloc.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// The scaler flags of every conversion: the ffmpeg command line's default (cmdutils init_opts).
constexpr const char* kSwsOpts = "flags=bicubic";

std::string AvError(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

void Check(int code, const std::string& what) {
  if (code < 0) throw std::runtime_error(what + ": " + AvError(code));
}

struct FormatInput {
  AVFormatContext* p = nullptr;
  ~FormatInput() { avformat_close_input(&p); }
};
struct FormatOutput {
  AVFormatContext* p = nullptr;
  ~FormatOutput() {
    if (p == nullptr) return;
    if (!(p->oformat->flags & AVFMT_NOFILE)) avio_closep(&p->pb);
    avformat_free_context(p);
  }
};
struct Codec {
  AVCodecContext* p = nullptr;
  ~Codec() { avcodec_free_context(&p); }
};
struct Frame {
  AVFrame* p = av_frame_alloc();
  ~Frame() { av_frame_free(&p); }
};
struct Packet {
  AVPacket* p = av_packet_alloc();
  ~Packet() { av_packet_free(&p); }
};

// buffer → buffersink(format): ffmpeg's filter graph for an output with no filters of its own, in
// which format negotiation inserts the scale filter with the graph's scaler options.
class Converter {
 public:
  Converter(int width, int height, AVPixelFormat in, AVRational timeBase, AVRational sar, AVRational frameRate, AVPixelFormat out) {
    graph_ = avfilter_graph_alloc();
    if (graph_ == nullptr) throw std::runtime_error("out of memory");
    graph_->scale_sws_opts = av_strdup(kSwsOpts);
    std::string args = "video_size=" + std::to_string(width) + "x" + std::to_string(height) + ":pix_fmt=" + std::to_string(in) +
                       ":time_base=" + std::to_string(timeBase.num) + "/" + std::to_string(timeBase.den) +
                       ":pixel_aspect=" + std::to_string(sar.num) + "/" + std::to_string(sar.den);
    if (frameRate.num != 0 && frameRate.den != 0) args += ":frame_rate=" + std::to_string(frameRate.num) + "/" + std::to_string(frameRate.den);
    Check(avfilter_graph_create_filter(&src_, avfilter_get_by_name("buffer"), "in", args.c_str(), nullptr, graph_), "buffer source");
    Check(avfilter_graph_create_filter(&sink_, avfilter_get_by_name("buffersink"), "out", nullptr, nullptr, graph_), "buffer sink");
    const AVPixelFormat formats[] = {out, AV_PIX_FMT_NONE};
    Check(av_opt_set_int_list(sink_, "pix_fmts", formats, AV_PIX_FMT_NONE, AV_OPT_SEARCH_CHILDREN), "sink format");
    Check(avfilter_link(src_, 0, sink_, 0), "filter link");
    Check(avfilter_graph_config(graph_, nullptr), "filter graph");
  }
  ~Converter() { avfilter_graph_free(&graph_); }
  Converter(const Converter&) = delete;
  Converter& operator=(const Converter&) = delete;

  // Hands `frame`'s reference to the graph (the frame is reset), as ffmpeg does.
  void Push(AVFrame* frame) { Check(av_buffersrc_add_frame_flags(src_, frame, 0), "filter input"); }
  void Close() { Check(av_buffersrc_add_frame_flags(src_, nullptr, 0), "filter flush"); }
  // The next converted frame into `out`; false when none is ready (or none is left after Close).
  bool Pull(AVFrame* out) {
    int r = av_buffersink_get_frame(sink_, out);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return false;
    Check(r, "filter output");
    return true;
  }
  AVRational FrameRate() const { return av_buffersink_get_frame_rate(sink_); }
  AVRational SampleAspectRatio() const { return av_buffersink_get_sample_aspect_ratio(sink_); }

 private:
  AVFilterGraph* graph_ = nullptr;
  AVFilterContext* src_ = nullptr;
  AVFilterContext* sink_ = nullptr;
};

// ---- decode: `ffmpeg -threads 1 -i PATH -map 0:v:0 -vf select='eq(n,i)+…' -vsync 0 -c:v ppm` ----

struct Decoded {
  std::string error;                 // non-empty: the file could not be decoded at all
  std::vector<uint8_t*> frames;      // one per requested index; nullptr where the decoder never produced it
  std::vector<int> widths, heights;  // per frame
};

// Copies an rgb24 frame (rows may be padded) into one malloc'd block that the JS Buffer will own.
uint8_t* PackRgb(const AVFrame* f) {
  size_t row = static_cast<size_t>(f->width) * 3;
  auto* data = static_cast<uint8_t*>(std::malloc(row * f->height));
  if (data == nullptr) throw std::runtime_error("out of memory");
  for (int y = 0; y < f->height; ++y) std::memcpy(data + row * y, f->data[0] + static_cast<size_t>(f->linesize[0]) * y, row);
  return data;
}

void DecodeInto(const std::string& path, const std::vector<int64_t>& indices, Decoded& out) {
  FormatInput in;
  Check(avformat_open_input(&in.p, path.c_str(), nullptr, nullptr), "open");
  Check(avformat_find_stream_info(in.p, nullptr), "stream info");
  AVStream* st = nullptr;
  for (unsigned i = 0; i < in.p->nb_streams && st == nullptr; ++i)
    if (in.p->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) st = in.p->streams[i];
  if (st == nullptr) throw std::runtime_error("no video stream");
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (codec == nullptr) throw std::runtime_error(std::string("no decoder for ") + avcodec_get_name(st->codecpar->codec_id));
  Codec dec;
  dec.p = avcodec_alloc_context3(codec);
  Check(avcodec_parameters_to_context(dec.p, st->codecpar), "decoder parameters");
  dec.p->pkt_timebase = st->time_base;
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "threads", "1", 0);
  int r = avcodec_open2(dec.p, codec, &opts);
  av_dict_free(&opts);
  Check(r, "open decoder");

  std::map<int64_t, size_t> wanted;  // decode-order frame number → slot
  for (size_t k = 0; k < indices.size(); ++k) wanted.emplace(indices[k], k);
  const int64_t last = indices.empty() ? -1 : indices.back();
  AVRational frameRate = av_guess_frame_rate(in.p, st, nullptr);
  std::unique_ptr<Converter> conv;
  Frame frame, rgb;
  Packet pkt;
  int64_t n = 0;
  auto take = [&](AVFrame* f) {
    auto slot = wanted.find(n++);
    if (slot == wanted.end()) return;
    if (!conv)
      conv = std::make_unique<Converter>(f->width, f->height, static_cast<AVPixelFormat>(f->format), st->time_base, f->sample_aspect_ratio,
                                         frameRate, AV_PIX_FMT_RGB24);
    conv->Push(f);
    while (conv->Pull(rgb.p)) {
      out.frames[slot->second] = PackRgb(rgb.p);
      out.widths[slot->second] = rgb.p->width;
      out.heights[slot->second] = rgb.p->height;
      av_frame_unref(rgb.p);
    }
  };
  auto drain = [&]() {
    while (avcodec_receive_frame(dec.p, frame.p) >= 0) {
      take(frame.p);
      av_frame_unref(frame.p);
    }
  };
  // Decode errors are concealed and decoding goes on, as ffmpeg does; frames never produced stay null.
  while (n <= last && av_read_frame(in.p, pkt.p) >= 0) {
    if (pkt.p->stream_index == st->index) {
      avcodec_send_packet(dec.p, pkt.p);
      drain();
    }
    av_packet_unref(pkt.p);
  }
  if (n <= last) {
    avcodec_send_packet(dec.p, nullptr);
    drain();
  }
}

class DecodeWorker : public Napi::AsyncWorker {
 public:
  DecodeWorker(Napi::Env env, std::string path, std::vector<int64_t> indices)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)), indices_(std::move(indices)) {}
  ~DecodeWorker() override {
    for (uint8_t* f : result_.frames) std::free(f);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    Decoded& d = result_;
    d.frames.assign(indices_.size(), nullptr);
    d.widths.assign(indices_.size(), 0);
    d.heights.assign(indices_.size(), 0);
    try {
      DecodeInto(path_, indices_, d);
    } catch (const std::exception& e) {
      bool any = false;
      for (uint8_t* f : d.frames) any = any || f != nullptr;
      if (!any) d.error = e.what();  // as ffmpeg: an error after some frames leaves them, truncated
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Decoded& d = result_;
    if (!d.error.empty()) {
      deferred_.Resolve(Napi::String::New(env, d.error));
      return;
    }
    Napi::Array frames = Napi::Array::New(env, d.frames.size());
    for (size_t k = 0; k < d.frames.size(); ++k) {
      if (d.frames[k] == nullptr) {
        frames.Set(k, env.Undefined());
        continue;
      }
      size_t bytes = static_cast<size_t>(d.widths[k]) * d.heights[k] * 3;
      Napi::Object f = Napi::Object::New(env);
      f.Set("width", d.widths[k]);
      f.Set("height", d.heights[k]);
      f.Set("rgb", Napi::Buffer<uint8_t>::New(env, d.frames[k], bytes, [](Napi::Env, uint8_t* p) { std::free(p); }));
      d.frames[k] = nullptr;  // the Buffer owns it now
      frames.Set(k, f);
    }
    deferred_.Resolve(frames);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  std::vector<int64_t> indices_;
  Decoded result_;
};

// ---- encode: `ffmpeg -f rawvideo -pix_fmt rgb24 -s WxH -r FPS -i pipe:0 -map 0:v:0 -c:v ENCODER [-pix_fmt F] OPTIONS -an PATH` ----

struct EncodeOutput {
  std::string path;
  std::string encoder;
  AVPixelFormat pixFmt;  // AV_PIX_FMT_RGB24 where the command gives no -pix_fmt (the encoders we use take rgb24 then)
  std::vector<std::pair<std::string, std::string>> options;
};

// Sends `frame` (null: flush) and writes every packet the encoder returns.
void EncodeAndWrite(AVCodecContext* enc, AVFormatContext* fmt, AVStream* st, AVFrame* frame, AVPacket* pkt) {
  Check(avcodec_send_frame(enc, frame), "encode");
  for (;;) {
    int r = avcodec_receive_packet(enc, pkt);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
    Check(r, "encode");
    av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
    pkt->stream_index = st->index;
    Check(av_interleaved_write_frame(fmt, pkt), "write");
  }
}

void EncodeTo(const EncodeOutput& o, const std::string& file, const std::vector<const uint8_t*>& frames, int width, int height, int fps) {
  const AVCodec* codec = avcodec_find_encoder_by_name(o.encoder.c_str());
  if (codec == nullptr) throw std::runtime_error("no encoder " + o.encoder + " in this FFmpeg");
  FormatOutput out;
  Check(avformat_alloc_output_context2(&out.p, nullptr, nullptr, o.path.c_str()), "output format");
  const AVRational timeBase{1, fps};
  Converter conv(width, height, AV_PIX_FMT_RGB24, timeBase, AVRational{0, 1}, AVRational{fps, 1}, o.pixFmt);

  Codec enc;
  enc.p = avcodec_alloc_context3(codec);
  AVStream* st = avformat_new_stream(out.p, nullptr);
  if (enc.p == nullptr || st == nullptr) throw std::runtime_error("out of memory");
  if (out.p->oformat->flags & AVFMT_GLOBALHEADER) enc.p->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  Frame in, filtered;
  Packet pkt;
  const size_t bytes = static_cast<size_t>(width) * height * 3;
  bool opened = false;
  int64_t pts = 0;
  // The encoder opens on the first converted frame, taking its colour properties, as ffmpeg's does.
  auto encodeFiltered = [&]() {
    while (conv.Pull(filtered.p)) {
      if (!opened) {
        enc.p->width = filtered.p->width;
        enc.p->height = filtered.p->height;
        enc.p->pix_fmt = static_cast<AVPixelFormat>(filtered.p->format);
        enc.p->time_base = av_inv_q(conv.FrameRate());
        enc.p->framerate = conv.FrameRate();
        enc.p->sample_aspect_ratio = st->sample_aspect_ratio = conv.SampleAspectRatio();
        enc.p->color_range = filtered.p->color_range;
        enc.p->color_primaries = filtered.p->color_primaries;
        enc.p->color_trc = filtered.p->color_trc;
        enc.p->colorspace = filtered.p->colorspace;
        enc.p->chroma_sample_location = filtered.p->chroma_location;
        AVDictionary* opts = nullptr;
        for (const auto& [k, v] : o.options) av_dict_set(&opts, k.c_str(), v.c_str(), 0);
        int r = avcodec_open2(enc.p, codec, &opts);
        av_dict_free(&opts);
        Check(r, "open encoder " + o.encoder);
        Check(avcodec_parameters_from_context(st->codecpar, enc.p), "stream parameters");
        st->time_base = enc.p->time_base;
        st->avg_frame_rate = enc.p->framerate;
        av_dict_set(&st->metadata, "encoder", (std::string(LIBAVCODEC_IDENT) + " " + codec->name).c_str(), 0);
        if (!(out.p->oformat->flags & AVFMT_NOFILE)) Check(avio_open(&out.p->pb, file.c_str(), AVIO_FLAG_WRITE), "create");
        Check(avformat_write_header(out.p, nullptr), "write header");
        opened = true;
      }
      filtered.p->pts = pts++;
      filtered.p->pict_type = AV_PICTURE_TYPE_NONE;  // ffmpeg leaves frame types to the encoder
      EncodeAndWrite(enc.p, out.p, st, filtered.p, pkt.p);
      av_frame_unref(filtered.p);
    }
  };
  for (size_t k = 0; k < frames.size(); ++k) {
    // Laid out as ffmpeg's rawvideo decoder hands a frame on: rows back to back in a packet-sized
    // buffer with zeroed padding after it, so the scaler reads the same bytes the command's does.
    AVBufferRef* buf = av_buffer_alloc(bytes + AV_INPUT_BUFFER_PADDING_SIZE);
    if (buf == nullptr) throw std::runtime_error("out of memory");
    std::memcpy(buf->data, frames[k], bytes);
    std::memset(buf->data + bytes, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    in.p->buf[0] = buf;
    in.p->data[0] = buf->data;
    in.p->linesize[0] = width * 3;
    in.p->format = AV_PIX_FMT_RGB24;
    in.p->width = width;
    in.p->height = height;
    in.p->pts = static_cast<int64_t>(k);
    conv.Push(in.p);  // takes the frame's reference and resets it
    encodeFiltered();
  }
  conv.Close();
  encodeFiltered();
  if (!opened) throw std::runtime_error("no frames to encode");
  EncodeAndWrite(enc.p, out.p, st, nullptr, pkt.p);
  Check(av_write_trailer(out.p), "write trailer");
  if (out.p->pb != nullptr) Check(avio_closep(&out.p->pb), "close");
}

// x264's output depends on memory it reads before writing it: the ffmpeg command line itself wrote
// other bytes for the same frames with MALLOC_PERTURB_ set, or with two more encoders in the same
// process. A fresh ffmpeg process encoding one video gets zeroed pages, so that is the reference. In
// this long-lived process the heap holds old data (the demo's c23 videos then changed with the
// output folder's name). While any encode runs, glibc hands out every allocation zero-filled
// (M_PERTURB 0xff: allocations get its complement, 0x00; freed bytes get 0xff), as a fresh process
// has it. The setting is process-wide, so concurrent encodes share it.
class ZeroedAllocations {
 public:
  ZeroedAllocations() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (active_++ == 0) mallopt(M_PERTURB, 0xff);
  }
  ~ZeroedAllocations() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--active_ == 0) mallopt(M_PERTURB, 0);
  }
  ZeroedAllocations(const ZeroedAllocations&) = delete;
  ZeroedAllocations& operator=(const ZeroedAllocations&) = delete;

 private:
  static inline std::mutex mutex_;
  static inline int active_ = 0;
};

// Writes `o.path` through a temporary name beside it, renamed into place once the trailer is written:
// a failed or interrupted encode leaves no truncated video behind.
void EncodeOne(const EncodeOutput& o, const std::vector<const uint8_t*>& frames, int width, int height, int fps) {
  const std::string partial = o.path + ".partial";
  ZeroedAllocations zeroed;
  try {
    EncodeTo(o, partial, frames, width, height, fps);
  } catch (...) {
    std::remove(partial.c_str());
    throw;
  }
  if (std::rename(partial.c_str(), o.path.c_str()) != 0) {
    std::remove(partial.c_str());
    throw std::runtime_error("rename " + partial + ": " + std::strerror(errno));
  }
}

class EncodeWorker : public Napi::AsyncWorker {
 public:
  EncodeWorker(Napi::Env env, std::vector<EncodeOutput> outputs, Napi::Array frames, std::vector<const uint8_t*> data, int width, int height, int fps)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        outputs_(std::move(outputs)),
        data_(std::move(data)),
        keep_(Napi::Persistent(frames.As<Napi::Object>())),  // the buffers stay alive while the worker reads them
        width_(width),
        height_(height),
        fps_(fps) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      for (const auto& o : outputs_) EncodeOne(o, data_, width_, height_, fps_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    keep_.Reset();
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    keep_.Reset();
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<EncodeOutput> outputs_;
  std::vector<const uint8_t*> data_;
  Napi::ObjectReference keep_;
  int width_, height_, fps_;
};

// decodeFrames(path: string, indices: number[]) → Promise<string | Array<{width, height, rgb} | undefined>>
// (a string: why the file could not be decoded)
Napi::Value DecodeFrames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array idx = info[1].As<Napi::Array>();
  std::vector<int64_t> indices;
  for (uint32_t i = 0; i < idx.Length(); ++i) indices.push_back(idx.Get(i).As<Napi::Number>().Int64Value());
  auto* w = new DecodeWorker(env, info[0].As<Napi::String>().Utf8Value(), std::move(indices));
  Napi::Promise promise = w->Promise();
  w->Queue();
  return promise;
}

// encodeVideos(outputs: Array<{path, encoder, pixFmt, options: Record<string,string>}>, frames: Buffer[], width, height, fps) → Promise<void>
Napi::Value EncodeVideos(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array outs = info[0].As<Napi::Array>();
  std::vector<EncodeOutput> outputs;
  for (uint32_t i = 0; i < outs.Length(); ++i) {
    Napi::Object o = outs.Get(i).As<Napi::Object>();
    EncodeOutput e;
    e.path = o.Get("path").As<Napi::String>().Utf8Value();
    e.encoder = o.Get("encoder").As<Napi::String>().Utf8Value();
    std::string fmt = o.Get("pixFmt").As<Napi::String>().Utf8Value();
    e.pixFmt = av_get_pix_fmt(fmt.c_str());
    if (e.pixFmt == AV_PIX_FMT_NONE) throw Napi::TypeError::New(env, "unknown pixel format " + fmt);
    Napi::Object opts = o.Get("options").As<Napi::Object>();
    Napi::Array keys = opts.GetPropertyNames();
    for (uint32_t k = 0; k < keys.Length(); ++k) {
      std::string key = keys.Get(k).As<Napi::String>().Utf8Value();
      e.options.emplace_back(key, opts.Get(key).As<Napi::String>().Utf8Value());
    }
    outputs.push_back(std::move(e));
  }
  Napi::Array frames = info[1].As<Napi::Array>();
  const int width = info[2].As<Napi::Number>().Int32Value(), height = info[3].As<Napi::Number>().Int32Value();
  const size_t bytes = static_cast<size_t>(width) * height * 3;
  std::vector<const uint8_t*> data;
  for (uint32_t k = 0; k < frames.Length(); ++k) {
    Napi::Value v = frames.Get(k);
    if (!v.IsBuffer() || v.As<Napi::Buffer<uint8_t>>().Length() != bytes)
      throw Napi::TypeError::New(env, "frame " + std::to_string(k) + " is not a " + std::to_string(width) + "x" + std::to_string(height) + " rgb24 buffer");
    data.push_back(v.As<Napi::Buffer<uint8_t>>().Data());
  }
  auto* w = new EncodeWorker(env, std::move(outputs), frames, std::move(data), width, height, info[4].As<Napi::Number>().Int32Value());
  Napi::Promise promise = w->Promise();
  w->Queue();
  return promise;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  av_log_set_level(AV_LOG_QUIET);  // errors come back as values; library code never prints
  exports.Set("decodeFrames", Napi::Function::New(env, DecodeFrames));
  exports.Set("encodeVideos", Napi::Function::New(env, EncodeVideos));
  return exports;
}

}  // namespace

NODE_API_MODULE(msccnet_av, Init)
