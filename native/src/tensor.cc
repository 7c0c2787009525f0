#include <atomic>
#include <mutex>
#include <thread>

#include "common.h"

namespace msccnet {

static Napi::FunctionReference* ctor = nullptr;
static thread_local torch::Tensor* pending = nullptr;
static std::atomic<int64_t> live{0};

Napi::Function NativeTensor::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "NativeTensor", {});
  ctor = new Napi::FunctionReference(Napi::Persistent(f));
  return f;
}

Napi::Value NativeTensor::Wrap(Napi::Env env, torch::Tensor t) {
  ReleasePendingBuffers();
  pending = &t;
  Napi::Object o = ctor->New({});
  pending = nullptr;
  return o;
}

int64_t NativeTensor::Live() { return live.load(); }

static int64_t StorageBytes(const torch::Tensor& t) {
  if (!t.defined() || !t.has_storage()) return 0;
  return static_cast<int64_t>(t.storage().nbytes());
}

NativeTensor::NativeTensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTensor>(info) {
  if (pending == nullptr) throw Napi::TypeError::New(info.Env(), "NativeTensor is created by the addon only");
  tensor = std::move(*pending);
  live++;
}

// A tensor's storage bytes reach V8 only once GC decides when it dies (ReportToGc), not for every
// intermediate a scope or dispose() frees: each report raises V8's external-memory count, and
// every 64 MiB of growth starts a mark-compact. Reporting all of a training step's activations ran
// about four full GCs per step, on one of the two cores libtorch computes on (docs/performance.md).
void NativeTensor::ReportToGc(Napi::Env env) {
  if (disposed || reportedBytes_ != 0) return;
  reportedBytes_ = StorageBytes(tensor);
  if (reportedBytes_) Napi::MemoryManagement::AdjustExternalMemory(env, reportedBytes_);
}

void NativeTensor::Release(Napi::Env env) {
  if (disposed) return;
  disposed = true;
  tensor = torch::Tensor();
  live--;
  if (reportedBytes_) Napi::MemoryManagement::AdjustExternalMemory(env, -reportedBytes_);
  reportedBytes_ = 0;
}

NativeTensor::~NativeTensor() {
  if (!disposed) Release(Env());
}

torch::Tensor& T(const Napi::Value& v) {
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), "expected a native tensor handle");
  NativeTensor* nt = NativeTensor::Unwrap(v.As<Napi::Object>());
  if (nt == nullptr) throw Napi::TypeError::New(v.Env(), "expected a native tensor handle");
  if (nt->disposed) throw Napi::Error::New(v.Env(), "tensor was disposed");
  return nt->tensor;
}

c10::optional<torch::Tensor> OptT(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return c10::nullopt;
  return T(v);
}

int64_t I64(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }
double D(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }
bool B(const Napi::Value& v) { return v.ToBoolean().Value(); }
std::string S(const Napi::Value& v) { return v.As<Napi::String>().Utf8Value(); }

std::vector<int64_t> Ints(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return out;
}

std::vector<torch::Tensor> Tensors(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  std::vector<torch::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(T(a.Get(i)));
  return out;
}

torch::ScalarType Dtype(const std::string& n) {
  if (n == "float32") return torch::kFloat32;
  if (n == "float64") return torch::kFloat64;
  if (n == "int64") return torch::kInt64;
  if (n == "int32") return torch::kInt32;
  if (n == "int16") return torch::kInt16;
  if (n == "int8") return torch::kInt8;
  if (n == "uint8") return torch::kUInt8;
  if (n == "bool") return torch::kBool;
  if (n == "float16") return torch::kFloat16;
  if (n == "bfloat16") return torch::kBFloat16;
  throw std::invalid_argument("unknown dtype '" + n + "'");
}

std::string DtypeName(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    case torch::kInt64: return "int64";
    case torch::kInt32: return "int32";
    case torch::kInt16: return "int16";
    case torch::kInt8: return "int8";
    case torch::kUInt8: return "uint8";
    case torch::kBool: return "bool";
    case torch::kFloat16: return "float16";
    case torch::kBFloat16: return "bfloat16";
    default: return std::string(c10::toString(t));
  }
}

torch::Device Dev(const Napi::Value& v) { return torch::Device(S(v)); }

Napi::Value Arr(Napi::Env env, const std::vector<torch::Tensor>& ts) {
  Napi::Array a = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); i++) a.Set(i, NativeTensor::Wrap(env, ts[i]));
  return a;
}

static std::vector<OpFn>* fns = nullptr;
static std::vector<const char*>* names = nullptr;

OpRegistrar::OpRegistrar(const char* name, OpFn fn) {
  if (fns == nullptr) {
    fns = new std::vector<OpFn>();
    names = new std::vector<const char*>();
  }
  fns->push_back(fn);
  names->push_back(name);
}

void RegisterOps(Napi::Env env, Napi::Object exports) {
  for (size_t i = 0; i < fns->size(); i++) exports.Set((*names)[i], Napi::Function::New(env, (*fns)[i], (*names)[i]));
}

OP(liveTensors) { return Napi::Number::New(info.Env(), static_cast<double>(NativeTensor::Live())); }

OP(dispose) {
  NativeTensor* nt = NativeTensor::Unwrap(info[0].As<Napi::Object>());
  nt->Release(info.Env());
  return info.Env().Undefined();
}

OP(reportToGc) {
  NativeTensor::Unwrap(info[0].As<Napi::Object>())->ReportToGc(info.Env());
  return info.Env().Undefined();
}

OP(isDisposed) { return Napi::Boolean::New(info.Env(), NativeTensor::Unwrap(info[0].As<Napi::Object>())->disposed); }

}  // namespace msccnet
