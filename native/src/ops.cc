// One binding per libtorch op; argument order mirrors the ATen signature. No model logic here.
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "common.h"

namespace msccnet {

static Napi::Value W(const Napi::CallbackInfo& info, torch::Tensor t) { return NativeTensor::Wrap(info.Env(), std::move(t)); }
static Napi::Value Num(const Napi::CallbackInfo& info, double v) { return Napi::Number::New(info.Env(), v); }
static Napi::Value Undef(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }
// A JS number as a Scalar: integral values stay integers so int tensors keep their dtype
// (as Python ints do); fractional values are doubles.
static torch::Scalar Sc(const Napi::Value& v) {
  double d = D(v);
  if (std::floor(d) == d && std::fabs(d) < 9.007199254740992e15) return torch::Scalar(static_cast<int64_t>(d));
  return torch::Scalar(d);
}
static bool Present(const Napi::Value& v) { return !(v.IsNull() || v.IsUndefined()); }
static torch::TensorOptions Opts(const Napi::CallbackInfo& info, size_t dtypeArg) {
  return torch::TensorOptions().dtype(Dtype(S(info[dtypeArg]))).device(Dev(info[dtypeArg + 1]));
}

// ---- zero-copy buffers ------------------------------------------------------------------
// A tensor made from a JS buffer without copying holds a reference to that buffer; libtorch's
// deleter drops it. Node-API references may only be touched on the JS thread, so a deleter that
// runs elsewhere queues the reference and the next call on the JS thread releases it.
static std::thread::id jsThread;
static std::mutex pendingMutex;
static std::vector<Napi::Reference<Napi::Value>*> pendingRefs;

void ReleasePendingBuffers() {
  std::vector<Napi::Reference<Napi::Value>*> refs;
  {
    std::lock_guard<std::mutex> lock(pendingMutex);
    if (pendingRefs.empty()) return;
    refs.swap(pendingRefs);
  }
  for (auto* r : refs) delete r;
}

// fromBuffer(typedArray, shape, dtype, copy)
OP(fromBuffer) {
  jsThread = std::this_thread::get_id();
  Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
  auto shape = Ints(info[1]);
  auto dtype = Dtype(S(info[2]));
  bool copy = B(info[3]);
  uint8_t* data = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  int64_t numel = 1;
  for (auto s : shape) numel *= s;
  size_t need = static_cast<size_t>(numel) * c10::elementSize(dtype);
  if (need != arr.ByteLength())
    throw std::invalid_argument("buffer holds " + std::to_string(arr.ByteLength()) + " bytes but shape × dtype needs " + std::to_string(need));
  auto opts = torch::TensorOptions().dtype(dtype);
  if (copy || numel == 0) {
    torch::Tensor t = torch::empty(shape, opts);
    if (need) std::memcpy(t.data_ptr(), data, need);
    return W(info, t);
  }
  auto* ref = new Napi::Reference<Napi::Value>(Napi::Persistent(info[0]));
  auto deleter = [ref](void*) {
    if (std::this_thread::get_id() == jsThread) {
      delete ref;
    } else {
      std::lock_guard<std::mutex> lock(pendingMutex);
      pendingRefs.push_back(ref);
    }
  };
  return W(info, torch::from_blob(data, shape, deleter, opts));
}

// toBuffer(t) -> ArrayBuffer with a contiguous CPU copy of the data
OP(toBuffer) {
  torch::Tensor t = T(info[0]).detach().to(torch::kCPU).contiguous();
  size_t n = t.numel() * t.element_size();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(info.Env(), n);
  if (n) std::memcpy(buf.Data(), t.data_ptr(), n);
  return buf;
}

// ---- creation --------------------------------------------------------------------------
OP(full) { return W(info, torch::full(Ints(info[0]), D(info[1]), Opts(info, 2))); }
OP(empty) { return W(info, torch::empty(Ints(info[0]), Opts(info, 1))); }
OP(randn) { return W(info, torch::randn(Ints(info[0]), Opts(info, 1))); }
OP(rand) { return W(info, torch::rand(Ints(info[0]), Opts(info, 1))); }
OP(randint) { return W(info, torch::randint(I64(info[0]), I64(info[1]), Ints(info[2]), Opts(info, 3))); }
OP(arange) { return W(info, torch::arange(D(info[0]), D(info[1]), D(info[2]), Opts(info, 3))); }
OP(manualSeed) {
  torch::manual_seed(static_cast<uint64_t>(I64(info[0])));
  return Undef(info);
}
OP(uniform_) {
  torch::NoGradGuard g;
  T(info[0]).uniform_(D(info[1]), D(info[2]));
  return Undef(info);
}
OP(normal_) {
  torch::NoGradGuard g;
  T(info[0]).normal_(D(info[1]), D(info[2]));
  return Undef(info);
}

// ---- metadata & autograd ------------------------------------------------------------------
OP(shape) {
  auto sizes = T(info[0]).sizes();
  Napi::Array a = Napi::Array::New(info.Env(), sizes.size());
  for (size_t i = 0; i < sizes.size(); i++) a.Set(i, Napi::Number::New(info.Env(), static_cast<double>(sizes[i])));
  return a;
}
OP(dtype) { return Napi::String::New(info.Env(), DtypeName(T(info[0]).scalar_type())); }
OP(device) { return Napi::String::New(info.Env(), T(info[0]).device().str()); }
OP(numel) { return Num(info, static_cast<double>(T(info[0]).numel())); }
OP(isContiguous) { return Napi::Boolean::New(info.Env(), T(info[0]).is_contiguous()); }
OP(requiresGrad) { return Napi::Boolean::New(info.Env(), T(info[0]).requires_grad()); }
OP(setRequiresGrad) {
  T(info[0]).set_requires_grad(B(info[1]));
  return Undef(info);
}
OP(isLeaf) { return Napi::Boolean::New(info.Env(), T(info[0]).is_leaf()); }
OP(grad) {
  torch::Tensor g = T(info[0]).grad();
  if (!g.defined()) return info.Env().Null();
  return W(info, g);
}
OP(setGrad) {
  auto g = OptT(info[1]);
  T(info[0]).mutable_grad() = g ? *g : torch::Tensor();
  return Undef(info);
}
OP(backward) {
  auto g = OptT(info[1]);
  T(info[0]).backward(g ? *g : torch::Tensor(), B(info[2]));
  return Undef(info);
}
OP(detach) { return W(info, T(info[0]).detach()); }
OP(item) { return Num(info, T(info[0]).item().toDouble()); }
OP(setGradEnabled) {
  bool prev = torch::autograd::GradMode::is_enabled();
  torch::autograd::GradMode::set_enabled(B(info[0]));
  return Napi::Boolean::New(info.Env(), prev);
}
OP(isGradEnabled) { return Napi::Boolean::New(info.Env(), torch::autograd::GradMode::is_enabled()); }
OP(setNumThreads) {
  torch::set_num_threads(static_cast<int>(I64(info[0])));
  return Undef(info);
}
OP(getNumThreads) { return Num(info, torch::get_num_threads()); }
OP(cudaIsAvailable) { return Napi::Boolean::New(info.Env(), torch::cuda::is_available()); }
OP(cudaDeviceCount) { return Num(info, static_cast<double>(torch::cuda::device_count())); }

// ---- devices, memory formats, mixed precision ------------------------------------------------------
// pin_memory throws on a libtorch without CUDA; the TypeScript side only calls it when CUDA is available.
OP(pinMemory) { return W(info, T(info[0]).pin_memory()); }
OP(isPinned) { return Napi::Boolean::New(info.Env(), T(info[0]).is_pinned()); }
OP(cudaSynchronize) {
  torch::cuda::synchronize();
  return Undef(info);
}
OP(setCudnnBenchmark) {
  bool prev = at::globalContext().benchmarkCuDNN();
  at::globalContext().setBenchmarkCuDNN(B(info[0]));
  return Napi::Boolean::New(info.Env(), prev);
}
OP(cudnnBenchmark) { return Napi::Boolean::New(info.Env(), at::globalContext().benchmarkCuDNN()); }
static at::MemoryFormat Format(const std::string& name) {
  if (name == "channelsLast") return at::MemoryFormat::ChannelsLast;
  if (name == "contiguous") return at::MemoryFormat::Contiguous;
  throw std::invalid_argument("unknown memory format '" + name + "' (channelsLast or contiguous)");
}
// toMemoryFormat(t, 'channelsLast' | 'contiguous'): Tensor.contiguous(memory_format)
OP(toMemoryFormat) { return W(info, T(info[0]).contiguous(Format(S(info[1])))); }
OP(isContiguousIn) { return Napi::Boolean::New(info.Env(), T(info[0]).is_contiguous(Format(S(info[1])))); }

// Autocast state of one device type ('cpu' or 'cuda'); libtorch ≥ 2.4 takes the device type as an argument.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
static bool AutocastEnabled(bool cuda) { return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU); }
static void SetAutocastEnabled(bool cuda, bool on) { at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on); }
static at::ScalarType AutocastDtype(bool cuda) { return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU); }
static void SetAutocastDtype(bool cuda, at::ScalarType t) { at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, t); }
#else
static bool AutocastEnabled(bool cuda) { return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
static void SetAutocastEnabled(bool cuda, bool on) { cuda ? at::autocast::set_enabled(on) : at::autocast::set_cpu_enabled(on); }
static at::ScalarType AutocastDtype(bool cuda) { return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype(); }
static void SetAutocastDtype(bool cuda, at::ScalarType t) { cuda ? at::autocast::set_autocast_gpu_dtype(t) : at::autocast::set_autocast_cpu_dtype(t); }
#endif
static bool CudaType(const std::string& deviceType) {
  if (deviceType == "cuda") return true;
  if (deviceType == "cpu") return false;
  throw std::invalid_argument("autocast device type must be 'cpu' or 'cuda', got '" + deviceType + "'");
}
// autocastEnter(deviceType, enabled, dtype) -> [previousEnabled, previousDtype], as torch.autocast.__enter__
OP(autocastEnter) {
  bool cuda = CudaType(S(info[0]));
  Napi::Array prev = Napi::Array::New(info.Env(), 2);
  prev.Set(0u, Napi::Boolean::New(info.Env(), AutocastEnabled(cuda)));
  prev.Set(1u, Napi::String::New(info.Env(), DtypeName(AutocastDtype(cuda))));
  SetAutocastDtype(cuda, Dtype(S(info[2])));  // first: it throws for a dtype the device's autocast lacks, leaving the state untouched
  SetAutocastEnabled(cuda, B(info[1]));
  at::autocast::increment_nesting();
  return prev;
}
// autocastExit(deviceType, previousEnabled, previousDtype), as torch.autocast.__exit__ (drops the cast cache when leaving the outermost region)
OP(autocastExit) {
  bool cuda = CudaType(S(info[0]));
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  SetAutocastEnabled(cuda, B(info[1]));
  SetAutocastDtype(cuda, Dtype(S(info[2])));
  return Undef(info);
}
OP(isAutocastEnabled) { return Napi::Boolean::New(info.Env(), AutocastEnabled(CudaType(S(info[0])))); }

// ---- elementwise -------------------------------------------------------------------------
OP(unary) {
  const std::string op = S(info[0]);
  const torch::Tensor& x = T(info[1]);
  if (op == "neg") return W(info, x.neg());
  if (op == "relu") return W(info, torch::relu(x));
  if (op == "sigmoid") return W(info, torch::sigmoid(x));
  if (op == "tanh") return W(info, torch::tanh(x));
  if (op == "exp") return W(info, torch::exp(x));
  if (op == "log") return W(info, torch::log(x));
  if (op == "sqrt") return W(info, torch::sqrt(x));
  if (op == "abs") return W(info, torch::abs(x));
  if (op == "contiguous") return W(info, x.contiguous());
  if (op == "clone") return W(info, x.clone());
  if (op == "logicalNot") return W(info, torch::logical_not(x));
  throw std::invalid_argument("unknown unary op '" + op + "'");
}

// The element-wise ops shared by tensor and scalar right-hand sides.
template <typename B>
static std::optional<torch::Tensor> elementwise(const std::string& op, const torch::Tensor& a, const B& b) {
  if (op == "add") return torch::add(a, b);
  if (op == "sub") return torch::sub(a, b);
  if (op == "mul") return torch::mul(a, b);
  if (op == "div") return torch::div(a, b);
  if (op == "pow") return torch::pow(a, b);
  if (op == "gt") return torch::gt(a, b);
  if (op == "lt") return torch::lt(a, b);
  if (op == "ge") return torch::ge(a, b);
  if (op == "le") return torch::le(a, b);
  if (op == "eq") return torch::eq(a, b);
  if (op == "ne") return torch::ne(a, b);
  return std::nullopt;
}

// binary(op, a, b) where b is a tensor or a number
OP(binary) {
  const std::string op = S(info[0]);
  const torch::Tensor& a = T(info[1]);
  if (info[2].IsNumber()) {
    torch::Scalar b = Sc(info[2]);
    if (auto r = elementwise(op, a, b)) return W(info, *r);
    if (op == "maximum") return W(info, torch::clamp_min(a, b));
    if (op == "minimum") return W(info, torch::clamp_max(a, b));
  } else {
    const torch::Tensor& b = T(info[2]);
    if (auto r = elementwise(op, a, b)) return W(info, *r);
    if (op == "maximum") return W(info, torch::maximum(a, b));
    if (op == "minimum") return W(info, torch::minimum(a, b));
    if (op == "matmul") return W(info, torch::matmul(a, b));
    if (op == "bmm") return W(info, torch::bmm(a, b));
  }
  throw std::invalid_argument("unknown binary op '" + op + "'");
}

OP(where) { return W(info, torch::where(T(info[0]), T(info[1]), T(info[2]))); }
OP(clamp) {
  c10::optional<torch::Scalar> lo, hi;
  if (Present(info[1])) lo = D(info[1]);
  if (Present(info[2])) hi = D(info[2]);
  return W(info, torch::clamp(T(info[0]), lo, hi));
}

// inplace(op, t, other, alpha): t.add_(other, alpha) etc.; returns nothing (the handle is unchanged)
OP(inplace) {
  const std::string op = S(info[0]);
  torch::Tensor& t = T(info[1]);
  if (op == "zero") {
    t.zero_();
  } else if (op == "fill") {
    t.fill_(Sc(info[2]));
  } else if (op == "copy") {
    t.copy_(T(info[2]));
  } else if (info[2].IsNumber()) {
    torch::Scalar b = Sc(info[2]);
    if (op == "add") t.add_(b, Sc(info[3]));
    else if (op == "mul") t.mul_(b);
    else if (op == "div") t.div_(b);
    else throw std::invalid_argument("unknown in-place op '" + op + "'");
  } else {
    const torch::Tensor& b = T(info[2]);
    if (op == "add") t.add_(b, Sc(info[3]));
    else if (op == "mul") t.mul_(b);
    else if (op == "div") t.div_(b);
    else throw std::invalid_argument("unknown in-place op '" + op + "'");
  }
  return Undef(info);
}

// ---- reductions -----------------------------------------------------------------------------
// sum/mean(t, dims|null, keepdim): null reduces over every element
OP(sum) {
  const torch::Tensor& x = T(info[0]);
  if (!Present(info[1])) return W(info, x.sum());
  return W(info, x.sum(Ints(info[1]), B(info[2])));
}
OP(mean) {
  const torch::Tensor& x = T(info[0]);
  if (!Present(info[1])) return W(info, x.mean());
  return W(info, x.mean(Ints(info[1]), B(info[2])));
}
OP(maxAll) { return W(info, T(info[0]).max()); }
OP(minAll) { return W(info, T(info[0]).min()); }
OP(maxDim) {
  auto r = T(info[0]).max(I64(info[1]), B(info[2]));
  return Arr(info.Env(), {std::get<0>(r), std::get<1>(r)});
}
OP(minDim) {
  auto r = T(info[0]).min(I64(info[1]), B(info[2]));
  return Arr(info.Env(), {std::get<0>(r), std::get<1>(r)});
}
OP(argmax) {
  c10::optional<int64_t> dim;
  if (Present(info[1])) dim = I64(info[1]);
  return W(info, torch::argmax(T(info[0]), dim, B(info[2])));
}

// ---- shapes ------------------------------------------------------------------------------------
OP(view) { return W(info, T(info[0]).view(Ints(info[1]))); }
OP(reshape) { return W(info, T(info[0]).reshape(Ints(info[1]))); }
OP(permute) { return W(info, T(info[0]).permute(Ints(info[1]))); }
OP(transpose) { return W(info, T(info[0]).transpose(I64(info[1]), I64(info[2]))); }
OP(flatten) { return W(info, T(info[0]).flatten(I64(info[1]), I64(info[2]))); }
OP(unsqueeze) { return W(info, T(info[0]).unsqueeze(I64(info[1]))); }
OP(squeeze) {
  if (!Present(info[1])) return W(info, T(info[0]).squeeze());
  return W(info, T(info[0]).squeeze(I64(info[1])));
}
OP(split) { return Arr(info.Env(), T(info[0]).split(I64(info[1]), I64(info[2]))); }
OP(splitWithSizes) { return Arr(info.Env(), T(info[0]).split_with_sizes(Ints(info[1]), I64(info[2]))); }
OP(chunk) { return Arr(info.Env(), T(info[0]).chunk(I64(info[1]), I64(info[2]))); }
OP(narrow) { return W(info, T(info[0]).narrow(I64(info[1]), I64(info[2]), I64(info[3]))); }
OP(slice) { return W(info, T(info[0]).slice(I64(info[1]), I64(info[2]), I64(info[3]), I64(info[4]))); }
OP(select) { return W(info, T(info[0]).select(I64(info[1]), I64(info[2]))); }
OP(expand) { return W(info, T(info[0]).expand(Ints(info[1]))); }
OP(toDtype) { return W(info, T(info[0]).to(Dtype(S(info[1])))); }
OP(toDevice) { return W(info, T(info[0]).to(Dev(info[1]))); }
// toWith(t, device|null, dtype|null, nonBlocking, copy): Tensor.to(device, dtype, non_blocking, copy)
OP(toWith) {
  const torch::Tensor& t = T(info[0]);
  torch::Device device = Present(info[1]) ? Dev(info[1]) : t.device();
  torch::ScalarType dtype = Present(info[2]) ? Dtype(S(info[2])) : t.scalar_type();
  return W(info, t.to(device, dtype, B(info[3]), B(info[4])));
}
OP(cat) { return W(info, torch::cat(Tensors(info[0]), I64(info[1]))); }
OP(stack) { return W(info, torch::stack(Tensors(info[0]), I64(info[1]))); }
OP(indexSelect) { return W(info, torch::index_select(T(info[0]), I64(info[1]), T(info[2]))); }

// ---- neural-network ops ---------------------------------------------------------------------------
// conv2d(x, w, b|null, stride[2], padding[2], dilation[2], groups)
OP(conv2d) {
  return W(info, torch::conv2d(T(info[0]), T(info[1]), OptT(info[2]), Ints(info[3]), Ints(info[4]), Ints(info[5]), I64(info[6])));
}
// convTranspose2d(x, w [in, out/groups, kh, kw], b|null, stride[2], padding[2], outputPadding[2], groups, dilation[2])
OP(convTranspose2d) {
  return W(info, torch::conv_transpose2d(T(info[0]), T(info[1]), OptT(info[2]), Ints(info[3]), Ints(info[4]), Ints(info[5]), I64(info[6]),
                                         Ints(info[7])));
}
// batchNorm(x, runningMean|null, runningVar|null, weight|null, bias|null, training, momentum, eps):
// aten::batch_norm updates the running statistics in place in training mode, as F.batch_norm does.
OP(batchNorm) {
  return W(info, torch::batch_norm(T(info[0]), OptT(info[3]), OptT(info[4]), OptT(info[1]), OptT(info[2]), B(info[5]), D(info[6]),
                                   D(info[7]), at::globalContext().userEnabledCuDNN()));
}
// maxPool2d(x, kernel[2], stride[2], padding[2], dilation[2], ceilMode)
OP(maxPool2d) {
  return W(info, torch::max_pool2d(T(info[0]), Ints(info[1]), Ints(info[2]), Ints(info[3]), Ints(info[4]), B(info[5])));
}
OP(avgPool2d) {
  return W(info, torch::avg_pool2d(T(info[0]), Ints(info[1]), Ints(info[2]), Ints(info[3]), B(info[4]), B(info[5])));
}
// constantPadNd(x, pad[2k], value): F.pad's (left, right, top, bottom, …) from the last dim backwards
OP(constantPadNd) { return W(info, torch::constant_pad_nd(T(info[0]), Ints(info[1]), Sc(info[2]))); }
OP(adaptiveAvgPool2d) { return W(info, torch::adaptive_avg_pool2d(T(info[0]), Ints(info[1]))); }
OP(linear) { return W(info, torch::linear(T(info[0]), T(info[1]), OptT(info[2]))); }
// upsample(x, mode, size[2], alignCorners, scaleH|null, scaleW|null): the scales are passed on as
// F.interpolate does for scale_factor, because they change the source-coordinate mapping.
OP(upsample) {
  const std::string mode = S(info[1]);
  c10::optional<double> sh, sw;
  if (Present(info[4])) sh = D(info[4]);
  if (Present(info[5])) sw = D(info[5]);
  if (mode == "bilinear") return W(info, at::upsample_bilinear2d(T(info[0]), Ints(info[2]), B(info[3]), sh, sw));
  if (mode == "nearest") return W(info, at::upsample_nearest2d(T(info[0]), Ints(info[2]), sh, sw));
  throw std::invalid_argument("unknown interpolation mode '" + mode + "'");
}
// crossEntropy(logits, target, weight|null, reduction 0 none / 1 mean / 2 sum, ignoreIndex, labelSmoothing)
OP(crossEntropy) {
  return W(info, at::cross_entropy_loss(T(info[0]), T(info[1]), OptT(info[2]), I64(info[3]), I64(info[4]), D(info[5])));
}
OP(binaryCrossEntropyWithLogits) {
  return W(info, torch::binary_cross_entropy_with_logits(T(info[0]), T(info[1]), OptT(info[2]), OptT(info[3]), I64(info[4])));
}
OP(dropout) { return W(info, torch::dropout(T(info[0]), D(info[1]), B(info[2]))); }
// feature_dropout zeroes whole channels: what F.dropout2d calls
OP(featureDropout) { return W(info, torch::feature_dropout(T(info[0]), D(info[1]), B(info[2]))); }
OP(softmax) { return W(info, torch::softmax(T(info[0]), I64(info[1]))); }
OP(logSoftmax) { return W(info, torch::log_softmax(T(info[0]), I64(info[1]))); }

}  // namespace msccnet
