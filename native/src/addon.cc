#include <malloc.h>

#include "common.h"

namespace msccnet {

// glibc's malloc returns freed memory to the kernel eagerly: blocks from 128 KiB up (a threshold
// that adapts only slowly) are separate mappings, unmapped on free, and the heap is trimmed once
// 128 KiB at its top are free. Node's buffers (decoded frames, PNG crops, image batches) and
// libtorch's small tensors are allocated and freed thousands of times a run, so each new one was
// faulted in afresh: about a third of the demo's page faults. Keeping up to 32 MiB blocks in the
// heap and trimming it only beyond 256 MiB free lets the next allocation reuse resident memory
// (demo --quick: 25 % fewer page faults, peak RSS +5 %, docs/performance.md). Tensor buffers of
// 32 KiB or more have their own cache (allocator.cc).
static void TuneMalloc() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
}
void InstallCachingAllocator();

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  TuneMalloc();
  InstallCachingAllocator();
  exports.Set("NativeTensor", NativeTensor::Init(env));
  RegisterOps(env, exports);
  return exports;
}
NODE_API_MODULE(msccnet_torch, Init)
}  // namespace msccnet
