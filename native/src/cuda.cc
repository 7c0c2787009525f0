// CUDA-only helpers for measuring a GPU run (scripts/gpu-check, bench/gpu*): the caching
// allocator's memory counters (as torch.cuda.max_memory_allocated). Built with CUDA when
// binding.gyp defines MSCCNET_CUDA (a CUDA libtorch whose CUDA runtime headers were found);
// in a CPU build every call says so.
#include "common.h"

#ifdef MSCCNET_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace msccnet {

namespace {
[[noreturn]] void NoCuda(const char* what) {
  throw std::invalid_argument(std::string(what) + ": this addon was built without CUDA (rebuild with LIBTORCH=python against a CUDA PyTorch)");
}
}  // namespace

// cudaMemoryStats(deviceIndex) -> {allocated, peakAllocated, reserved, peakReserved} in bytes
OP(cudaMemoryStats) {
#ifdef MSCCNET_CUDA
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(I64(info[0])));
  constexpr size_t kAggregate = 0;  // StatType::AGGREGATE: small and large pools together
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("allocated", static_cast<double>(stats.allocated_bytes[kAggregate].current));
  out.Set("peakAllocated", static_cast<double>(stats.allocated_bytes[kAggregate].peak));
  out.Set("reserved", static_cast<double>(stats.reserved_bytes[kAggregate].current));
  out.Set("peakReserved", static_cast<double>(stats.reserved_bytes[kAggregate].peak));
  return out;
#else
  NoCuda("cudaMemoryStats");
#endif
}

// cudaResetPeakMemoryStats(deviceIndex): peaks restart from the current values
OP(cudaResetPeakMemoryStats) {
#ifdef MSCCNET_CUDA
  c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(I64(info[0])));
  return info.Env().Undefined();
#else
  NoCuda("cudaResetPeakMemoryStats");
#endif
}

}  // namespace msccnet
