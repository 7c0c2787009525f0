/** Neural-network modules over the torch API (torch.nn): Module, layers, initialisers, SGD and AdamW, safetensors. */
export { Module, Sequential, ModuleList, ModuleSlots, deviceOf, type TensorModule, type StateDict, type LoadStateDictOptions } from './module.js';
export { Parameter, Buffer } from './parameter.js';
export {
  Conv2d,
  ConvTranspose2d,
  Linear,
  BatchNorm2d,
  BatchNorm1d,
  ReLU,
  LeakyReLU,
  Dropout,
  Dropout2d,
  MaxPool2d,
  AdaptiveAvgPool2d,
  type Conv2dOptions,
  type ConvTranspose2dOptions,
  type BatchNormOptions,
  type CrossProcessSum,
  type MaxPool2dOptions,
} from './layers.js';
export * as init from './init.js';
export { Optimizer, type OptimizerState } from './optimizer.js';
export { SGD, type SgdOptions, type ParamGroup, type SgdState } from './sgd.js';
export { AdamW, type AdamWOptions, type AdamWState } from './adamw.js';
export { GradScaler, type GradScalerOptions, type GradScalerState } from './grad-scaler.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  fromBytes,
  loadSafetensors,
  saveSafetensors,
  type DecodedSafetensors,
  type LoadedSafetensors,
  type RawTensor,
  type SafetensorsDtype,
} from './safetensors.js';
export { preciseBatchNorm } from './precise-bn.js';
export { StateDictError, SafetensorsError } from './errors.js';
