/** TypeScript API over libtorch, shaped like PyTorch: `torch`, `Tensor`, `F` (torch.nn.functional). */
export { torch, type CreateOptions } from './torch.js';
export { Tensor, type DType, type Device, type TypedArray, type TypedArrayOf, dtypeBytes } from './tensor.js';
export * as F from './functional.js';
export { TorchError, AddonLoadError, DisposedTensorError } from './errors.js';
export { backend, cudaNative, distributedNative, withBackend, type Backend, type CudaMemoryStats, type CudaNative, type DistributedNative, type Handle } from './backend.js';
export { tidy, keep, dispose } from './scope.js';
