/**
 * Node engines for the shared pipeline: onnxruntime-node on an exported ONNX file (default) and
 * libtorch on the model itself (`--engine torch`, for checking). A .safetensors file with the
 * onnxruntime engine is exported in memory first, so both engines run the same weights.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { InputFileError, MsccnetError } from '../errors.js';
import { variantConfig } from '../models/msccnet/index.js';
import { applyDetfill } from '../models/detfill.js';
import { loadModelFile, PTH_FILE } from '../models/model-file.js';
import { MsccnetMethod } from '../models/registry.js';
import { methodForward, type AuxiliaryInputSpec, type MethodModel, type MethodOutputs } from '../models/method.js';
import type { Module } from '../nn/index.js';
import { officialPreprocess, type PreprocessSpec } from '../image/preprocess.js';
import { MSCCNET_IO, type Precision } from '../onnx/index.js';
import { exportMethod } from '../onnx/method.js';
import {
  autocastDtype,
  batchToDevice,
  resolveDevice,
  toHost,
  torch,
  withPrecision,
  type Device,
  type DeviceSpec,
  type Precision as TorchPrecision,
  type Tensor,
} from '../torch/index.js';
import { auxiliaryFeeds, onnxModelInfo, readTwoHeads } from './metadata.js';
import type { AuxiliaryArrays, InferenceEngine } from './pipeline.js';

export type EngineKind = 'onnx' | 'torch';

/** How to build a model from weights (safetensors or the deterministic test weights). */
export interface ModelSpec {
  /**
   * a .safetensors file, a checkpoint or run folder of `msccnet train`, or 'detfill' for the
   * deterministic detfill-v1 weights (tests, demos)
   */
  weights: string;
  /** registered method (default msccnet) of a file without our metadata, e.g. an official checkpoint of a baseline */
  method?: string;
  /** registered MSCCNet variant name (default 'msccnet'): detfill, and files without a config in their metadata */
  variant?: string;
  /** input side: detfill, and files without a config in their metadata */
  inputSize?: number;
  /** config fields over the variant or the method's defaults, for files without a config in their metadata */
  overrides?: Readonly<Record<string, unknown>>;
}

/**
 * Builds the model in eval mode with its weights; returns it with its variant name and a hash
 * naming the weights. A file that carries its config is rebuilt from it exactly.
 */
export async function loadModel(spec: ModelSpec): Promise<LoadedModel> {
  const variant = spec.variant ?? 'msccnet';
  if (spec.weights === 'detfill') {
    if ((spec.method ?? 'msccnet') !== 'msccnet') {
      throw new ModelChoiceError(`--detfill is defined for MSCCNet only, not --method ${spec.method}`, "pass the method's weights with --weights");
    }
    const model = new MsccnetMethod({ ...variantConfig(variant).config, ...spec.overrides, ...(spec.inputSize ? { inputSize: spec.inputSize } : {}) }).eval();
    applyDetfill(model);
    return { model, variant, weightsHash: 'detfill-v1' };
  }
  const loaded = await loadModelFile(spec.weights, { method: spec.method, variant: spec.variant, inputSize: spec.inputSize, overrides: spec.overrides });
  return { model: loaded.model, variant: loaded.info.variant, weightsHash: loaded.weightsHash };
}

/** A model ready for an engine or the exporter, with what names its weights. */
export interface LoadedModel {
  readonly model: MethodModel;
  readonly variant: string;
  readonly weightsHash: string;
}

/** Metadata written into every exported file besides the method's own (method, config, input side, preprocessing: onnx/method.ts). */
export function modelMetadata(model: MethodModel, variant: string, weightsHash: string): Record<string, string> {
  return { variant, weights: weightsHash, preprocessing: JSON.stringify(model.preprocessing) };
}

export interface OrtOptions {
  /** intra-op threads (default: onnxruntime's choice, one per core) */
  threads?: number;
}

/** onnxruntime-node over ONNX bytes exported by msccnet (input `image`, outputs `image_logits`, `mask_logits`). */
export async function createOrtEngine(bytes: Uint8Array, source: string, opts: OrtOptions = {}): Promise<InferenceEngine> {
  const info = onnxModelInfo(bytes, source);
  const { metadata, inputSide, preprocess, jpegInput } = info;
  const session = await ort.InferenceSession.create(bytes, {
    ...(opts.threads === undefined ? {} : { intraOpNumThreads: opts.threads, interOpNumThreads: 1 }),
    graphOptimizationLevel: 'all',
  });
  return {
    inputSide,
    preprocess,
    ...(jpegInput && { jpegInput }),
    name: `onnxruntime-node ${ort.env.versions.node ?? ''} (${metadata.precision ?? 'fp32'})`.trim(),
    async run(input, batch, aux = {}) {
      const feeds = {
        [MSCCNET_IO.input]: new ort.Tensor('float32', input, [batch, 3, inputSide, inputSide]),
        ...auxiliaryFeeds(info, aux, batch, source, (data, dims) => new ort.Tensor('float32', data, dims)),
      };
      return readTwoHeads(await session.run(feeds));
    },
    release: () => session.release(),
  };
}

/** Options of the libtorch engine. */
export interface TorchEngineOptions {
  threads?: number;
  /** auto | cpu | cuda | cuda:N (default cpu); the model is moved there once */
  device?: DeviceSpec;
  /** fp32 (default) or autocast bf16 / fp16 (fp16 on a GPU only) */
  precision?: TorchPrecision;
  channelsLast?: boolean;
}

/** What the libtorch engine runs: a registered method, or a bare MSCCNet (the official preprocessing at its input side). */
export type EngineModel = Module & { forward(x: Tensor): MethodOutputs } & Partial<Pick<MethodModel, 'auxiliaryInputs' | 'forwardWith'>> &
  ({ readonly preprocessing: PreprocessSpec } | { readonly config: { readonly inputSize: number } });

/**
 * libtorch running the module directly (eval mode, no autograd) on a device: the model is moved
 * once, each batch goes in from pinned memory, and both outputs come back in one host copy.
 */
export function createTorchEngine(model: EngineModel, opts: TorchEngineOptions = {}): InferenceEngine {
  if (opts.threads !== undefined) torch.setNumThreads(opts.threads);
  const device = resolveDevice(opts.device ?? 'cpu');
  const precision = opts.precision ?? 'fp32';
  autocastDtype(precision, device); // refuses fp16 on the CPU at open, not at the first image
  if (device !== 'cpu') torch.backends.cudnn.benchmark = true; // one input side: autotuning pays off
  model.to(device, opts.channelsLast ? { memoryFormat: 'channelsLast' } : {}).eval();
  const preprocess = 'preprocessing' in model ? model.preprocessing : officialPreprocess(model.config.inputSize);
  const side = preprocess.inputSize;
  // a model with auxiliary inputs reads the file's JPEG (CAT-Net: `jpegQuality` in its config)
  const jpegQuality = model.auxiliaryInputs === undefined ? undefined : (model as { config?: { jpegQuality?: number } }).config?.jpegQuality;
  return {
    inputSide: side,
    preprocess,
    ...(jpegQuality !== undefined && { jpegInput: { jpegQuality } }),
    name: device === 'cpu' ? 'libtorch' : `libtorch ${device}${precision === 'fp32' ? '' : ` ${precision}`}`,
    async run(input, batch, aux = {}) {
      return torch.tidy(() =>
        torch.noGrad(() => {
          let x = batchToDevice(torch.fromTypedArray(input, [batch, 3, side, side]), device);
          if (opts.channelsLast) x = x.contiguous('channelsLast');
          const auxTensors = auxiliaryTensors(model.auxiliaryInputs ?? [], aux, batch, side, device);
          const out = withPrecision(precision, device, () => methodForward(model, x, auxTensors));
          const img = out.imgLogits.numel;
          const both = toHost(torch.cat([out.imgLogits.flatten().float(), out.maskLogits.flatten().float()])).toTypedArray() as Float32Array;
          return {
            imageLogits: both.slice(0, img),
            maskLogits: both.slice(img),
            classes: out.imgLogits.shape[1],
            maskSide: out.maskLogits.shape[2],
          };
        }),
      );
    },
    release: async () => model.dispose(),
  };
}

/** The auxiliary inputs the model reads, as tensors on `device`; one missing from `aux` is left out (the model refuses it). */
function auxiliaryTensors(specs: readonly AuxiliaryInputSpec[], aux: AuxiliaryArrays, batch: number, side: number, device: Device): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const spec of specs) {
    const data = aux[spec.name];
    if (data !== undefined) out[spec.name] = batchToDevice(torch.fromTypedArray(data, spec.shape(batch, side, side)), device);
  }
  return out;
}

/** A model path that is neither .onnx nor .safetensors, or an engine/model mismatch. */
export class ModelChoiceError extends MsccnetError {
  constructor(problem: string, hint: string) {
    super('MSCCNET_MODEL_CHOICE', problem, hint);
  }
}

export interface EngineOptions extends OrtOptions {
  engine?: EngineKind;
  /** the registered method of weights without our metadata (an official checkpoint, .pth or bare safetensors) */
  method?: string;
  variant?: string;
  inputSize?: number;
  /** precision of the in-memory export when a .safetensors file runs on onnxruntime */
  precision?: Precision;
  /** where the torch engine computes (auto | cpu | cuda | cuda:N; default cpu) */
  device?: DeviceSpec;
}

/**
 * Opens `--model`: an .onnx file (onnxruntime), or weights (either engine): a .safetensors file,
 * a checkpoint or run folder, or 'detfill'.
 */
export async function openEngine(modelPath: string, opts: EngineOptions = {}): Promise<InferenceEngine> {
  const engine = opts.engine ?? 'onnx';
  if (modelPath.endsWith('.onnx')) {
    if (engine === 'torch') {
      throw new ModelChoiceError(
        '--engine torch needs the model weights, not an ONNX file',
        'pass --model W.safetensors (the file the ONNX was exported from)',
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = await readFile(modelPath);
    } catch (err) {
      throw new InputFileError(modelPath, 'cannot read the model file', 'check the path; export one with `msccnet export`', { cause: err });
    }
    return createOrtEngine(bytes, modelPath, opts);
  }
  if (PTH_FILE.test(modelPath) && (opts.method ?? 'msccnet') === 'msccnet') {
    throw new ModelChoiceError(
      `--model ${modelPath}: a PyTorch checkpoint`,
      `convert it first: msccnet weights convert ${modelPath} --out W.safetensors; or, for a baseline's official checkpoint, pass --method NAME`,
    );
  }
  const loaded = await loadModel({ weights: modelPath, method: opts.method, variant: opts.variant, inputSize: opts.inputSize });
  if (engine === 'torch') return createTorchEngine(loaded.model, { threads: opts.threads, device: opts.device });
  return createOrtEngine(exportLoaded(loaded, opts.precision), modelPath, opts);
}

/** ONNX bytes of a weights file or run folder, exported in memory (`serve` sends them to browsers). */
export async function exportedModelBytes(
  modelPath: string,
  opts: Pick<EngineOptions, 'method' | 'variant' | 'inputSize' | 'precision'> = {},
): Promise<Uint8Array> {
  return exportLoaded(await loadModel({ weights: modelPath, method: opts.method, variant: opts.variant, inputSize: opts.inputSize }), opts.precision);
}

function exportLoaded(loaded: LoadedModel, precision: Precision | undefined): Uint8Array {
  const { bytes } = exportMethod(loaded.model, { precision, metadata: modelMetadata(loaded.model, loaded.variant, loaded.weightsHash) });
  loaded.model.dispose();
  return bytes;
}
