/**
 * Node engines for the shared pipeline: onnxruntime-node on an exported ONNX file (default) and
 * libtorch on the model itself (`--engine torch`, for checking). A .safetensors file with the
 * onnxruntime engine is exported in memory first, so both engines run the same weights.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { InputFileError, MsccnetError } from '../errors.js';
import { buildMsccnet, type MSCCNet, type MsccnetConfigInput } from '../models/msccnet/index.js';
import { applyDetfill } from '../models/detfill.js';
import { loadModelFile } from '../models/model-file.js';
import { officialPreprocess } from '../image/preprocess.js';
import { exportMsccnet, MSCCNET_IO, type Precision } from '../onnx/index.js';
import { autocastDtype, batchToDevice, resolveDevice, toHost, torch, withPrecision, type DeviceSpec, type Precision as TorchPrecision } from '../torch/index.js';
import { onnxModelInfo } from './metadata.js';
import type { EngineOutput, InferenceEngine } from './pipeline.js';

export type EngineKind = 'onnx' | 'torch';

/** How to build a model from weights (safetensors or the deterministic test weights). */
export interface ModelSpec {
  /**
   * a .safetensors file, a checkpoint or run folder of `msccnet train`, or 'detfill' for the
   * deterministic detfill-v1 weights (tests, demos)
   */
  weights: string;
  /** registered variant name (default 'msccnet'): detfill, and files without a config in their metadata */
  variant?: string;
  /** input side: detfill, and files without a config in their metadata */
  inputSize?: number;
  /** config fields over the variant, for files without a config in their metadata */
  overrides?: MsccnetConfigInput;
}

/**
 * Builds the model in eval mode with its weights; returns it with its variant name and a hash
 * naming the weights. A file that carries its config is rebuilt from it exactly.
 */
export async function loadModel(spec: ModelSpec): Promise<{ model: MSCCNet; variant: string; weightsHash: string }> {
  const variant = spec.variant ?? 'msccnet';
  if (spec.weights === 'detfill') {
    const model = buildMsccnet(variant, { ...spec.overrides, ...(spec.inputSize ? { inputSize: spec.inputSize } : {}) }).eval();
    applyDetfill(model);
    return { model, variant, weightsHash: 'detfill-v1' };
  }
  const loaded = await loadModelFile(spec.weights, { variant: spec.variant, inputSize: spec.inputSize, overrides: spec.overrides });
  return { model: loaded.model, variant: loaded.info.variant, weightsHash: loaded.weightsHash };
}

/** Metadata written into every exported MSCCNet file (the model config and input size are added by the exporter). */
export function modelMetadata(variant: string, weightsHash: string, inputSize: number): Record<string, string> {
  return { method: 'msccnet', variant, weights: weightsHash, preprocessing: JSON.stringify(officialPreprocess(inputSize)) };
}

export interface OrtOptions {
  /** intra-op threads (default: onnxruntime's choice, one per core) */
  threads?: number;
}

/** onnxruntime-node over ONNX bytes exported by msccnet (input `image`, outputs `image_logits`, `mask_logits`). */
export async function createOrtEngine(bytes: Uint8Array, source: string, opts: OrtOptions = {}): Promise<InferenceEngine> {
  const { metadata, inputSide } = onnxModelInfo(bytes, source);
  const session = await ort.InferenceSession.create(bytes, {
    ...(opts.threads === undefined ? {} : { intraOpNumThreads: opts.threads, interOpNumThreads: 1 }),
    graphOptimizationLevel: 'all',
  });
  return {
    inputSide,
    name: `onnxruntime-node ${ort.env.versions.node ?? ''} (${metadata.precision ?? 'fp32'})`.trim(),
    async run(input, batch) {
      const feeds = { [MSCCNET_IO.input]: new ort.Tensor('float32', input, [batch, 3, inputSide, inputSide]) };
      const out = await session.run(feeds);
      const img = out[MSCCNET_IO.imageLogits];
      const mask = out[MSCCNET_IO.maskLogits];
      const result: EngineOutput = {
        imageLogits: img.data as Float32Array, maskLogits: mask.data as Float32Array,
        classes: Number(img.dims[1]), maskSide: Number(mask.dims[2]),
      };
      img.dispose();
      mask.dispose();
      return result;
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

/**
 * libtorch running the module directly (eval mode, no autograd) on a device: the model is moved
 * once, each batch goes in from pinned memory, and both outputs come back in one host copy.
 */
export function createTorchEngine(model: MSCCNet, opts: TorchEngineOptions = {}): InferenceEngine {
  if (opts.threads !== undefined) torch.setNumThreads(opts.threads);
  const device = resolveDevice(opts.device ?? 'cpu');
  const precision = opts.precision ?? 'fp32';
  autocastDtype(precision, device);                        // refuses fp16 on the CPU at open, not at the first image
  if (device !== 'cpu') torch.backends.cudnn.benchmark = true;   // one input side: autotuning pays off
  model.to(device, opts.channelsLast ? { memoryFormat: 'channelsLast' } : {}).eval();
  const side = model.config.inputSize;
  return {
    inputSide: side,
    name: device === 'cpu' ? 'libtorch' : `libtorch ${device}${precision === 'fp32' ? '' : ` ${precision}`}`,
    async run(input, batch) {
      return torch.tidy(() => torch.noGrad(() => {
        let x = batchToDevice(torch.fromTypedArray(input, [batch, 3, side, side]), device);
        if (opts.channelsLast) x = x.contiguous('channelsLast');
        const out = withPrecision(precision, device, () => model.forward(x));
        const img = out.imgLogits.numel;
        const both = toHost(torch.cat([out.imgLogits.flatten().float(), out.maskLogits.flatten().float()])).toTypedArray() as Float32Array;
        return {
          imageLogits: both.slice(0, img), maskLogits: both.slice(img),
          classes: out.imgLogits.shape[1], maskSide: out.maskLogits.shape[2],
        };
      }));
    },
    release: async () => model.dispose(),
  };
}

/** A model path that is neither .onnx nor .safetensors, or an engine/model mismatch. */
export class ModelChoiceError extends MsccnetError {
  constructor(problem: string, hint: string) {
    super('MSCCNET_MODEL_CHOICE', problem, hint);
  }
}

export interface EngineOptions extends OrtOptions {
  engine?: EngineKind;
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
      throw new ModelChoiceError('--engine torch needs the model weights, not an ONNX file', 'pass --model W.safetensors (the file the ONNX was exported from)');
    }
    let bytes: Uint8Array;
    try {
      bytes = await readFile(modelPath);
    } catch (err) {
      throw new InputFileError(modelPath, 'cannot read the model file', 'check the path; export one with `msccnet export`', { cause: err });
    }
    return createOrtEngine(bytes, modelPath, opts);
  }
  if (/\.(pth|pt|ckpt|bin)$/.test(modelPath)) {
    throw new ModelChoiceError(`--model ${modelPath}: a PyTorch checkpoint`, `convert it first: msccnet weights convert ${modelPath} --out W.safetensors`);
  }
  const loaded = await loadModel({ weights: modelPath, variant: opts.variant, inputSize: opts.inputSize });
  if (engine === 'torch') return createTorchEngine(loaded.model, { threads: opts.threads, device: opts.device });
  return createOrtEngine(exportLoaded(loaded, opts.precision), modelPath, opts);
}

/** ONNX bytes of a weights file or run folder, exported in memory (`serve` sends them to browsers). */
export async function exportedModelBytes(modelPath: string, opts: Pick<EngineOptions, 'variant' | 'inputSize' | 'precision'> = {}): Promise<Uint8Array> {
  return exportLoaded(await loadModel({ weights: modelPath, variant: opts.variant, inputSize: opts.inputSize }), opts.precision);
}

function exportLoaded(loaded: { model: MSCCNet; variant: string; weightsHash: string }, precision: Precision | undefined): Uint8Array {
  const { bytes } = exportMsccnet(loaded.model, { precision, metadata: modelMetadata(loaded.variant, loaded.weightsHash, loaded.model.config.inputSize) });
  loaded.model.dispose();
  return bytes;
}
