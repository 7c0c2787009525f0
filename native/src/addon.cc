#include "common.h"

namespace msccnet {
void InstallCachingAllocator();

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallCachingAllocator();
  exports.Set("NativeTensor", NativeTensor::Init(env));
  RegisterOps(env, exports);
  return exports;
}
NODE_API_MODULE(msccnet_torch, Init)
}  // namespace msccnet
