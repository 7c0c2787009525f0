// c10d process groups for data-parallel training: a TCPStore rendezvous and a Gloo group (or an
// NCCL group when the addon is built against a CUDA libtorch with NCCL), with the collectives the
// trainer uses (all-reduce, broadcast, all-gather, barrier) and an all-reduce that autograd
// differentiates (its backward is again an all-reduce-sum), which synchronised BatchNorm is built
// from. Every call blocks until the collective completes or the group's timeout expires; errors
// (timeout, a peer that went away) become JS exceptions.
//
// One source for libtorch 1.13 (Debian, CI) and 2.x (PyTorch wheels): since 2.0 ProcessGroupGloo
// and ProcessGroupNCCL are c10d::Backend objects (a ProcessGroup dispatches to them); their
// constructors (store, rank, size, options) and the TCPStore(host, TCPStoreOptions) constructor
// kept their shape, so only the type the collectives are called on differs.
#include <torch/version.h>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <map>
#include <mutex>

#include "common.h"

namespace msccnet {

namespace {

#if TORCH_VERSION_MAJOR >= 2
using Collectives = c10d::Backend;
#else
using Collectives = c10d::ProcessGroup;
#endif

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Collectives> pg;
  // where the collectives run: CPU for Gloo, the rank's GPU for NCCL (host tensors are staged through it)
  torch::Device device = torch::kCPU;
};

std::mutex groupsMutex;
std::map<int64_t, Group> groups;
int64_t nextGroupId = 1;

Group Pg(int64_t id) {
  std::lock_guard<std::mutex> lock(groupsMutex);
  auto it = groups.find(id);
  if (it == groups.end()) throw std::invalid_argument("process group " + std::to_string(id) + " is closed");
  return it->second;
}

void Wait(const c10::intrusive_ptr<c10d::Work>& work) { work->wait(); }

// Runs an in-place collective on t where the group computes: a host tensor of an NCCL group goes
// to the group's GPU and back (the trainer's loss sums and JSON exchange are small host tensors).
template <class F>
void OnGroupDevice(const Group& g, torch::Tensor& t, F collective) {
  if (t.device() == g.device) {
    collective(t);
    return;
  }
  torch::Tensor staged = t.to(g.device);
  collective(staged);
  t.copy_(staged);
}

// In-place sum over the group of one contiguous tensor.
void AllReduceSumInPlace(const Group& g, torch::Tensor& t) {
  OnGroupDevice(g, t, [&](torch::Tensor& x) {
    std::vector<torch::Tensor> ts{x};
    Wait(g.pg->allreduce(ts));
  });
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

struct GroupOptions {
  int rank;
  int worldSize;
  std::string masterAddr;
  uint16_t port;
  std::chrono::milliseconds timeout;
  std::string interface;  // "" = by hostname (loopback when the master is local)
  std::string backend;    // "gloo" | "nccl"
  int deviceIndex;        // the rank's GPU for nccl
};

Group Rendezvous(const GroupOptions& o) {
  c10d::TCPStoreOptions so;
  so.port = o.port;
  so.isServer = o.rank == 0;
  so.numWorkers = static_cast<std::size_t>(o.worldSize);
  so.waitWorkers = true;
  so.timeout = o.timeout;
  auto store = c10::make_intrusive<c10d::TCPStore>(o.masterAddr, so);
  if (o.backend == "nccl") {
#ifdef USE_C10D_NCCL
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(o.deviceIndex));
    auto nccl = c10d::ProcessGroupNCCL::Options::create();
    nccl->timeout = o.timeout;
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, o.rank, o.worldSize, nccl);
    return Group{store, pg, torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(o.deviceIndex))};
#else
    throw std::invalid_argument("this addon was built without NCCL");
#endif
  }
#ifdef USE_C10D_GLOO
  auto gloo = c10d::ProcessGroupGloo::Options::create(o.timeout);
  if (!o.interface.empty()) gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(o.interface));
  else if (IsLoopback(o.masterAddr)) gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  else gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  gloo->threads = 2;
  auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, o.rank, o.worldSize, gloo);
  return Group{store, pg, torch::kCPU};
#else
  throw std::invalid_argument("this addon was built without Gloo (the libtorch's include/ has no gloo headers)");
#endif
}

// The rendezvous waits for every peer: off the JS thread, resolved as a promise.
class RendezvousWorker : public Napi::AsyncWorker {
 public:
  RendezvousWorker(Napi::Env env, GroupOptions o) : Napi::AsyncWorker(env), o_(std::move(o)), deferred_(env) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      Group g = Rendezvous(o_);
      std::lock_guard<std::mutex> lock(groupsMutex);
      id_ = nextGroupId++;
      groups[id_] = std::move(g);
    } catch (const c10::Error& e) {
      SetError(e.what_without_backtrace());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(id_))); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  GroupOptions o_;
  Napi::Promise::Deferred deferred_;
  int64_t id_ = 0;
};

// y = Σ_ranks x; dL/dx = Σ_ranks dL/dy (every rank's loss depends on every rank's x through y).
struct DifferentiableAllReduce : public torch::autograd::Function<DifferentiableAllReduce> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, int64_t groupId) {
    ctx->saved_data["group"] = groupId;
    torch::Tensor y = x.contiguous().clone();
    AllReduceSumInPlace(Pg(groupId), y);
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    torch::Tensor g = grads[0].contiguous().clone();
    AllReduceSumInPlace(Pg(ctx->saved_data["group"].toInt()), g);
    return {g, torch::Tensor()};
  }
};

}  // namespace

// pgBackends() -> the c10d backends this build has, e.g. ["gloo"] or ["gloo", "nccl"]
OP(pgBackends) {
  std::vector<std::string> names;
#ifdef USE_C10D_GLOO
  names.push_back("gloo");
#endif
#ifdef USE_C10D_NCCL
  names.push_back("nccl");
#endif
  Napi::Array out = Napi::Array::New(info.Env(), names.size());
  for (size_t i = 0; i < names.size(); i++) out.Set(static_cast<uint32_t>(i), names[i]);
  return out;
}

// pgCreate(rank, worldSize, masterAddr, port, timeoutMs, interface, backend, deviceIndex) -> Promise<group id>
OP(pgCreate) {
  GroupOptions o{static_cast<int>(I64(info[0])), static_cast<int>(I64(info[1])), S(info[2]), static_cast<uint16_t>(I64(info[3])),
                 std::chrono::milliseconds(I64(info[4])), S(info[5]), S(info[6]), static_cast<int>(I64(info[7]))};
  auto* worker = new RendezvousWorker(info.Env(), std::move(o));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

OP(pgDestroy) {
  std::lock_guard<std::mutex> lock(groupsMutex);
  groups.erase(I64(info[0]));
  return info.Env().Undefined();
}

// pgAllReduce(id, t): in-place sum of a contiguous tensor over the group
OP(pgAllReduce) {
  torch::Tensor& t = T(info[1]);
  if (!t.is_contiguous()) throw std::invalid_argument("pgAllReduce needs a contiguous tensor");
  torch::NoGradGuard g;
  AllReduceSumInPlace(Pg(I64(info[0])), t);
  return info.Env().Undefined();
}

// pgAllReduceDiff(id, t) -> Σ_ranks t, differentiable
OP(pgAllReduceDiff) {
  return NativeTensor::Wrap(info.Env(), DifferentiableAllReduce::apply(T(info[1]), I64(info[0])));
}

// pgBroadcast(id, t, root): in place, from root to every rank
OP(pgBroadcast) {
  torch::Tensor& t = T(info[1]);
  if (!t.is_contiguous()) throw std::invalid_argument("pgBroadcast needs a contiguous tensor");
  torch::NoGradGuard ng;
  Group g = Pg(I64(info[0]));
  c10d::BroadcastOptions bo;
  bo.rootRank = I64(info[2]);
  OnGroupDevice(g, t, [&](torch::Tensor& x) {
    std::vector<torch::Tensor> ts{x};
    Wait(g.pg->broadcast(ts, bo));
  });
  return info.Env().Undefined();
}

// pgAllGather(id, t) -> [worldSize, ...t.shape], rank order
OP(pgAllGather) {
  Group g = Pg(I64(info[0]));
  torch::Tensor host = T(info[1]);
  torch::Tensor in = host.detach().to(g.device).contiguous();
  std::vector<torch::Tensor> outs;
  for (int r = 0; r < g.pg->getSize(); r++) outs.push_back(torch::empty_like(in));
  std::vector<std::vector<torch::Tensor>> outputs{outs};
  std::vector<torch::Tensor> inputs{in};
  Wait(g.pg->allgather(outputs, inputs));
  return NativeTensor::Wrap(info.Env(), torch::stack(outputs[0]).to(host.device()));
}

OP(pgBarrier) {
  Wait(Pg(I64(info[0])).pg->barrier());
  return info.Env().Undefined();
}

}  // namespace msccnet
