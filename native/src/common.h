// Shared helpers of the msccnet libtorch addon: the tensor handle class, argument
// conversion, and the guard that turns every C++/libtorch exception into a JS exception.
#pragma once
#include <napi.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace msccnet {

// A JS object owning one reference to a torch::Tensor. Disposing (or GC) drops the reference;
// the storage is freed when libtorch's last reference (views, autograd graph) goes.
class NativeTensor : public Napi::ObjectWrap<NativeTensor> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Value Wrap(Napi::Env env, torch::Tensor t);
  static int64_t Live();
  explicit NativeTensor(const Napi::CallbackInfo& info);
  ~NativeTensor() override;
  void Release(Napi::Env env);
  void ReportToGc(Napi::Env env);
  torch::Tensor tensor;
  bool disposed = false;

 private:
  int64_t reportedBytes_ = 0;
};

torch::Tensor& T(const Napi::Value& v);
c10::optional<torch::Tensor> OptT(const Napi::Value& v);
int64_t I64(const Napi::Value& v);
double D(const Napi::Value& v);
bool B(const Napi::Value& v);
std::string S(const Napi::Value& v);
std::vector<int64_t> Ints(const Napi::Value& v);
std::vector<torch::Tensor> Tensors(const Napi::Value& v);
torch::ScalarType Dtype(const std::string& name);
std::string DtypeName(torch::ScalarType t);
torch::Device Dev(const Napi::Value& v);
Napi::Value Arr(Napi::Env env, const std::vector<torch::Tensor>& ts);
void ReleasePendingBuffers();

// Runs body; any exception becomes a JS Error carrying libtorch's message (never a crash).
template <class F>
Napi::Value Guard(const Napi::CallbackInfo& info, F body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

using OpFn = Napi::Value (*)(const Napi::CallbackInfo&);
struct OpRegistrar {
  OpRegistrar(const char* name, OpFn fn);
};
void RegisterOps(Napi::Env env, Napi::Object exports);

// OP(name) { ... } defines exports.name, guarded.
#define OP(name)                                                                  \
  static Napi::Value op_##name##_body(const Napi::CallbackInfo& info);           \
  static Napi::Value op_##name(const Napi::CallbackInfo& info) {                 \
    return ::msccnet::Guard(info, [&] { return op_##name##_body(info); });       \
  }                                                                               \
  static ::msccnet::OpRegistrar reg_##name(#name, op_##name);                     \
  static Napi::Value op_##name##_body(const Napi::CallbackInfo& info)

}  // namespace msccnet
