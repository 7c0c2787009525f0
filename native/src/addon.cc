#include "common.h"

namespace msccnet {
static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeTensor", NativeTensor::Init(env));
  RegisterOps(env, exports);
  return exports;
}
NODE_API_MODULE(msccnet_torch, Init)
}  // namespace msccnet
