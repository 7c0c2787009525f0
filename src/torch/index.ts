/** TypeScript API over libtorch, shaped like PyTorch: `torch`, `Tensor`, `F` (torch.nn.functional). */
export { torch, type CreateOptions, type AutocastDtype } from './torch.js';
export { Tensor, type DType, type Device, type MemoryFormat, type ToOptions, type TypedArray, type TypedArrayOf, dtypeBytes } from './tensor.js';
export * as F from './functional.js';
export { TorchError, AddonLoadError, DisposedTensorError, DeviceError, DeviceDisciplineError } from './errors.js';
export {
  backend,
  cudaNative,
  distributedNative,
  useBackend,
  withBackend,
  type Backend,
  type CudaMemoryStats,
  type CudaNative,
  type DistributedNative,
  type Handle,
} from './backend.js';
export { tidy, keep, dispose } from './scope.js';
export {
  resolveDevice,
  autocastDtype,
  withPrecision,
  toHost,
  cpuCopies,
  batchToDevice,
  DEVICE_SPEC,
  PRECISIONS,
  type DeviceSpec,
  type Precision,
} from './device.js';
