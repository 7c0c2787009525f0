// The CPU allocator of every tensor buffer: buffers of 32 KiB or more are cached mappings (below),
// smaller ones come from c10::alloc_cpu as before. It counts the bytes alive and their peak
// (torch.memory(): allocatedBytes, peakAllocatedBytes), so tests can bound a forward pass's memory.
//
// Why: with glibc's allocator, tensor buffers and Node's many small allocations share the brk
// heap, and resident memory crept up 0.1-0.2 MiB per training step of a small net (Python does
// not show it). Giving every buffer its own mapping fixes that but page-faults every new
// activation (1.5x slower steps here). So buffers come from mmap and, when freed, are kept for
// reuse by size (page-rounded): a training step asks for the same sizes every time, so after the
// first step it runs without system calls or page faults, and memory stays flat. Blocks beyond
// the cache limit are unmapped; emptyCache() unmaps all free blocks.
#include <sys/mman.h>
#include <unistd.h>

#include <mutex>
#include <unordered_map>
#include <vector>

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include "common.h"

namespace msccnet {
namespace {

constexpr size_t kMinBytes = 32 * 1024;
constexpr size_t kPage = 4096;

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(c10::Allocator* small) : small_(small) {
    long pages = sysconf(_SC_PHYS_PAGES);
    // Keep at most a quarter of physical memory in free cached blocks (at least 1 GiB).
    limit_ = std::max<size_t>(size_t{1} << 30, pages > 0 ? static_cast<size_t>(pages) * kPage / 4 : 0);
  }

  c10::DataPtr allocate(size_t nbytes) const override {
    void* p = nullptr;
    size_t size = 0;  // block size of a cached (mapped) block; 0 for a small buffer
    if (nbytes < kMinBytes) {
      p = c10::alloc_cpu(nbytes);
    } else {
      size = (nbytes + kPage - 1) & ~(kPage - 1);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = free_.find(size);
        if (it != free_.end() && !it->second.empty()) {
          p = it->second.back();
          it->second.pop_back();
          cached_ -= size;
        }
      }
      if (p == nullptr) p = Map(size);
    }
    if (p != nullptr) {
      std::lock_guard<std::mutex> lock(mutex_);
      live_[p] = {size, nbytes};
      allocated_ += nbytes;
      peak_ = std::max(peak_, allocated_);
    }
    // context == data pointer, as raw_allocate()/raw_deleter() (used by oneDNN) require
    return {p, p, &Free, c10::Device(c10::DeviceType::CPU)};
  }

  /** Bytes of tensor buffers alive now, and the most alive at once since the last ResetPeak(). */
  std::pair<size_t, size_t> Allocated() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {allocated_, peak_};
  }

  void ResetPeak() const {
    std::lock_guard<std::mutex> lock(mutex_);
    peak_ = allocated_;
  }

  c10::DeleterFnPtr raw_deleter() const override { return &Free; }

  size_t EmptyCache() const {
    std::unordered_map<size_t, std::vector<void*>> blocks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      blocks.swap(free_);
      cached_ = 0;
    }
    size_t freed = 0;
    for (auto& [size, ptrs] : blocks) {
      for (void* p : ptrs) munmap(p, size);
      freed += size * ptrs.size();
    }
    return freed;
  }

  size_t Cached() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }

 private:
  void* Map(size_t size) const {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      EmptyCache();  // cached blocks of other sizes may be what is missing
      p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    TORCH_CHECK(p != MAP_FAILED, "out of memory: could not map ", size, " bytes for a tensor");
    return p;
  }

  static void Free(void* ctx);

  c10::Allocator* small_;
  size_t limit_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;
  struct Block {
    size_t size;    // mapped bytes, 0 for a small buffer of c10::alloc_cpu
    size_t nbytes;  // bytes the tensor asked for
  };
  mutable std::unordered_map<void*, Block> live_;
  mutable size_t cached_ = 0;
  mutable size_t allocated_ = 0;
  mutable size_t peak_ = 0;
};

// Never destroyed: tensors may still be freed while the process exits.
CachingCpuAllocator* instance = nullptr;

// Frees a block of ours, or (raw_deleter path) a buffer of the allocator we replaced.
void CachingCpuAllocator::Free(void* ptr) {
  if (ptr == nullptr) return;
  Block block{0, 0};
  bool ours = false;
  bool keep = false;
  {
    std::lock_guard<std::mutex> lock(instance->mutex_);
    auto it = instance->live_.find(ptr);
    if (it != instance->live_.end()) {
      ours = true;
      block = it->second;
      instance->live_.erase(it);
      instance->allocated_ -= block.nbytes;
      if (block.size > 0 && instance->cached_ + block.size <= instance->limit_) {
        instance->free_[block.size].push_back(ptr);
        instance->cached_ += block.size;
        keep = true;
      }
    }
  }
  if (!ours) {
    instance->small_->raw_deleter()(ptr);
  } else if (block.size == 0) {
    c10::free_cpu(ptr);
  } else if (!keep) {
    munmap(ptr, block.size);
  }
}

}  // namespace

void InstallCachingAllocator() {
  if (instance != nullptr) return;
  instance = new CachingCpuAllocator(c10::GetCPUAllocator());
  c10::SetCPUAllocator(instance, /*priority=*/1);
}

OP(emptyCache) { return Napi::Number::New(info.Env(), static_cast<double>(instance->EmptyCache())); }
OP(cachedBytes) { return Napi::Number::New(info.Env(), static_cast<double>(instance->Cached())); }
OP(allocatedBytes) {
  auto [now, peak] = instance->Allocated();
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(now)));
  a.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(peak)));
  return a;
}
OP(resetPeakAllocatedBytes) {
  instance->ResetPeak();
  return info.Env().Undefined();
}

}  // namespace msccnet
