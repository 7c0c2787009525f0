/**
 * Model files that carry their configuration. Every safetensors file we write (training
 * checkpoints, converted weights) stores in its `__metadata__` the method, the variant name,
 * the whole model config, the input size and the preprocessing — the same keys the ONNX export
 * writes — so `export`, `detect`, `serve`, `evaluate` and `benchmark` rebuild the exact model of
 * any registered method from the file alone. Files without metadata still load with an explicit
 * method (official checkpoints of the baselines), variant and input size.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputFileError } from '../errors.js';
import { loadSafetensors } from '../nn/index.js';
import { torch } from '../torch/index.js';
import { officialPreprocess, type PreprocessSpec } from '../image/preprocess.js';
import { readPth } from '../nn/pth/index.js';
import type { Tensor } from '../torch/index.js';
import { WeightsError } from './errors.js';
import { parseMsccnetConfig, variantConfig, variantNames, type MsccnetConfig } from './msccnet/index.js';
import { parseMethodConfig, type MethodModel, type MethodName } from './method.js';
import { stateDictTensors } from './convert.js';
import { buildMethod, loadMethodStateDict, methodDefinition } from './registry.js';
import { stateDictProblems } from './weights.js';

/** What a model file says about the model in it. */
export interface ModelFileInfo {
  /** the registered method that builds it (files written before the registry: "msccnet") */
  readonly method: MethodName;
  /** MSCCNet: the registered variant whose config this is, or "custom"; another method: its name */
  readonly variant: string;
  /** the method's validated config, every default filled in */
  readonly config: Readonly<Record<string, unknown>>;
  readonly inputSize: number;
  readonly preprocessing: PreprocessSpec;
}

/** The `__metadata__` entries that make a weights file self-describing, for any registered method. */
export function modelFileMetadata(model: MethodModel, options: { variant?: string } = {}): Record<string, string> {
  const config = model.config as Readonly<Record<string, unknown>>;
  return {
    method: model.methodName,
    variant: options.variant ?? (model.methodName === 'msccnet' ? variantOf(config as MsccnetConfig) : model.methodName),
    // the weights are in the file; the init no longer matters
    config: JSON.stringify('pretrained' in config ? { ...config, pretrained: null } : config),
    inputSize: String(model.preprocessing.inputSize),
    preprocessing: JSON.stringify(model.preprocessing),
  };
}

/** The registered variant whose config equals `config` (any input size), else "custom". */
export function variantOf(config: MsccnetConfig): string {
  const key = (c: MsccnetConfig) => JSON.stringify({ ...c, inputSize: 0, pretrained: null });
  return variantNames().find((name) => key(parseMsccnetConfig({ ...variantConfig(name).config, inputSize: config.inputSize })) === key(config)) ?? 'custom';
}

/** Reads the model description from a file's metadata (the config validated by its method's schema); null when the file has none. */
export function readModelFileInfo(metadata: Readonly<Record<string, string>>, source: string): ModelFileInfo | null {
  if (metadata.config === undefined) return null;
  const json = (key: string): unknown => {
    try {
      return JSON.parse(metadata[key]);
    } catch (err) {
      throw new InputFileError(source, `its metadata "${key}" is not JSON`, 're-save the weights with msccnet', { cause: err });
    }
  };
  const def = methodDefinition(metadata.method ?? 'msccnet');
  const config = parseMethodConfig(def.name, def.schema, json('config')) as Readonly<Record<string, unknown>> & { inputSize: number };
  const preprocessing = metadata.preprocessing === undefined ? officialPreprocess(config.inputSize) : (json('preprocessing') as PreprocessSpec);
  const variant = metadata.variant ?? (def.name === 'msccnet' ? variantOf(config as unknown as MsccnetConfig) : def.name);
  return { method: def.name, variant, config, inputSize: config.inputSize, preprocessing };
}

/** The one entry point that turns a described model into a module: the method's registry entry builds it. */
export function buildModel(info: { method: string; config: unknown }): MethodModel {
  return buildMethod(info.method, info.config);
}

/**
 * The weights file a path names: a .safetensors file; a checkpoint folder (its
 * model.safetensors); a run folder (checkpoints/best, else the newest step checkpoint).
 */
export async function resolveModelFile(path: string): Promise<string> {
  const info = await stat(path).catch((err: unknown) => {
    throw new InputFileError(path, 'not found', 'pass a .safetensors file, a checkpoint folder or a run folder of `msccnet train`', { cause: err });
  });
  if (!info.isDirectory()) return path;
  const isFile = (p: string) =>
    stat(p).then(
      (s) => s.isFile(),
      () => false,
    );
  if (await isFile(join(path, 'model.safetensors'))) return join(path, 'model.safetensors');
  const checkpoints = join(path, 'checkpoints');
  if (await isFile(join(checkpoints, 'best', 'model.safetensors'))) return join(checkpoints, 'best', 'model.safetensors');
  const steps = (await readdir(checkpoints).catch(() => [] as string[])).filter((n) => /^step-\d+$/.test(n)).sort();
  if (steps.length > 0) return join(checkpoints, steps[steps.length - 1], 'model.safetensors');
  throw new InputFileError(
    path,
    'is a folder without model.safetensors or checkpoints/',
    'pass a run folder of `msccnet train`, one of its checkpoints, or a .safetensors file',
  );
}

/** What a file without our metadata (an old file, or an official checkpoint) is built as. */
export interface ModelFileFallback {
  /** the registered method (default msccnet); with another method, its official state-dict names load through loadMethodStateDict */
  method?: string;
  /** MSCCNet only: the registered variant */
  variant?: string;
  inputSize?: number;
  /** further config fields over the variant (MSCCNet) or the method's defaults */
  overrides?: Readonly<Record<string, unknown>>;
}

export interface LoadedModelFile {
  /** the model in eval mode with the file's weights */
  readonly model: MethodModel;
  readonly info: ModelFileInfo;
  /** true when the config came from the file itself, false when from the fallback */
  readonly described: boolean;
  /** the weights file actually read */
  readonly path: string;
  /** `sha256:…` of the file */
  readonly weightsHash: string;
}

/** The model a fallback describes, built once, and its description. */
function fallbackModel(fallback: ModelFileFallback): { info: ModelFileInfo; model: MethodModel } {
  const method = methodDefinition(fallback.method ?? 'msccnet').name;
  const variant = fallback.variant ?? method;
  const base = method === 'msccnet' ? variantConfig(variant).config : {};
  const model = buildMethod(method, { ...base, ...fallback.overrides, ...(fallback.inputSize ? { inputSize: fallback.inputSize } : {}) });
  const info = {
    method,
    variant,
    config: model.config as Readonly<Record<string, unknown>>,
    inputSize: model.preprocessing.inputSize,
    preprocessing: model.preprocessing,
  };
  return { info, model };
}

/** The tensors of a safetensors file and its metadata, or of a PyTorch checkpoint (.pth, .pt, .bin, .ckpt) under its own names. */
async function readWeightsFile(file: string): Promise<{ tensors: Map<string, Tensor>; metadata: Readonly<Record<string, string>> }> {
  if (PTH_FILE.test(file)) {
    // DataParallel checkpoints prefix every name with `module.`
    const tensors = new Map<string, Tensor>(
      [...stateDictTensors((await readPth(file)).root, file)].map(([k, t]) => [k.replace(/^module\./, ''), t.toTensor()]),
    );
    return { tensors, metadata: {} };
  }
  try {
    return await loadSafetensors(file);
  } catch (err) {
    throw new InputFileError(
      file,
      `cannot read safetensors (${err instanceof Error ? err.message : String(err)})`,
      'convert a PyTorch checkpoint with `msccnet weights convert IN.pth --out W.safetensors`',
      { cause: err },
    );
  }
}

/** A PyTorch checkpoint by its extension. */
export const PTH_FILE = /\.(pth|pt|ckpt|bin)$/;

/**
 * Rebuilds the exact model of a weights file (or a run/checkpoint folder) and loads it strictly.
 * Files without our metadata are built from `fallback`: MSCCNet as `fallback.variant` at
 * `fallback.inputSize`; another method from its official state-dict names (a .pth or bare
 * safetensors of the authors' release), strict except the paper's adaptation keys.
 */
export async function loadModelFile(path: string, fallback: ModelFileFallback = {}): Promise<LoadedModelFile> {
  const file = await resolveModelFile(path);
  const bytes = await readFile(file).catch((err: unknown) => {
    throw new InputFileError(file, 'cannot read', 'check the path of the weights file', { cause: err });
  });
  const weightsHash = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const loaded = await readWeightsFile(file);
  const own = readModelFileInfo(loaded.metadata, file);
  const { info, model } = own !== null ? { info: own, model: buildModel(own) } : fallbackModel(fallback);
  try {
    if (own === null && info.method !== 'msccnet') {
      loadMethodStateDict(model, loaded.tensors, file);
    } else {
      const problems = stateDictProblems(model, loaded.tensors);
      if (problems.length > 0) {
        throw new WeightsError(
          file,
          problems.slice(0, 20),
          own
            ? "the file's metadata and tensors disagree: re-save it with msccnet"
            : 'this file has no model config in its metadata: pass the --method, --variant and --input-size it was trained with',
        );
      }
      model.loadStateDict(loaded.tensors);
    }
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    torch.dispose([...loaded.tensors.values()]);
  }
  return { model: model.eval() as MethodModel, info, described: own !== null, path: file, weightsHash };
}
