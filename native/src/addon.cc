#include "common.h"

#ifdef __GLIBC__
#include <malloc.h>
#include <cstdlib>
#endif

namespace msccnet {
static Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef __GLIBC__
  // glibc raises its mmap threshold after each large free (up to 32 MiB), so tensor buffers
  // then come from the brk heap, interleaved with Node's many small allocations; there the heap
  // grew by 0.1-0.2 MiB per training step of a small net (Python does not show it). A fixed
  // 32 KiB threshold keeps every buffer of 32 KiB or more in its own mapping, returned to the OS
  // on free, and resident memory stays flat (test/torch/memory.test.ts). A MALLOC_MMAP_THRESHOLD_
  // set by the user wins (glibc has applied it already).
  if (getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 32 * 1024);
#endif
  exports.Set("NativeTensor", NativeTensor::Init(env));
  RegisterOps(env, exports);
  return exports;
}
NODE_API_MODULE(msccnet_torch, Init)
}  // namespace msccnet
