/**
 * Model files that carry their configuration. Every safetensors file we write (training
 * checkpoints, converted weights) stores in its `__metadata__` the method, the variant name,
 * the whole model config, the input size and the preprocessing — the same keys the ONNX export
 * writes — so `export`, `detect`, `serve`, `evaluate` and `benchmark` rebuild the exact model from
 * the file alone. Files without metadata still load with an explicit variant and input size.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputFileError } from '../errors.js';
import { loadSafetensors } from '../nn/index.js';
import { torch } from '../torch/index.js';
import { officialPreprocess, type PreprocessSpec } from '../image/preprocess.js';
import { WeightsError } from './errors.js';
import { MSCCNet, parseMsccnetConfig, variantConfig, variantNames, type MsccnetConfig, type MsccnetConfigInput } from './msccnet/index.js';
import { stateDictProblems } from './weights.js';

/** What a model file says about the model in it. */
export interface ModelFileInfo {
  /** the method (model family) that builds it; "msccnet" until other methods register */
  readonly method: string;
  /** the registered variant whose config this is, or "custom" */
  readonly variant: string;
  readonly config: MsccnetConfig;
  readonly inputSize: number;
  readonly preprocessing: PreprocessSpec;
}

/** The `__metadata__` entries that make a weights file self-describing. */
export function modelFileMetadata(config: MsccnetConfig, options: { method?: string; variant?: string } = {}): Record<string, string> {
  return {
    method: options.method ?? 'msccnet',
    variant: options.variant ?? variantOf(config),
    config: JSON.stringify({ ...config, pretrained: null }),   // the weights are in the file; the init no longer matters
    inputSize: String(config.inputSize),
    preprocessing: JSON.stringify(officialPreprocess(config.inputSize)),
  };
}

/** The registered variant whose config equals `config` (any input size), else "custom". */
export function variantOf(config: MsccnetConfig): string {
  const key = (c: MsccnetConfig) => JSON.stringify({ ...c, inputSize: 0, pretrained: null });
  return variantNames().find((name) => key(parseMsccnetConfig({ ...variantConfig(name).config, inputSize: config.inputSize })) === key(config)) ?? 'custom';
}

/** Reads the model description from a file's metadata; null when the file has none (older files). */
export function readModelFileInfo(metadata: Readonly<Record<string, string>>, source: string): ModelFileInfo | null {
  if (metadata.config === undefined) return null;
  const json = (key: string): unknown => {
    try {
      return JSON.parse(metadata[key]);
    } catch (err) {
      throw new InputFileError(source, `its metadata "${key}" is not JSON`, 're-save the weights with msccnet', { cause: err });
    }
  };
  const config = parseMsccnetConfig(json('config') as MsccnetConfigInput);
  const preprocessing = metadata.preprocessing === undefined ? officialPreprocess(config.inputSize) : json('preprocessing') as PreprocessSpec;
  return { method: metadata.method ?? 'msccnet', variant: metadata.variant ?? variantOf(config), config, inputSize: config.inputSize, preprocessing };
}

/**
 * The one entry point that turns a described model into a module. Only MSCCNet today; the
 * method registry extends it with the baselines.
 */
export function buildModel(info: { method: string; config: MsccnetConfigInput }): MSCCNet {
  if (info.method !== 'msccnet') {
    throw new WeightsError(info.method, [`unknown method '${info.method}'`], 'this build knows the method "msccnet"');
  }
  return new MSCCNet(info.config);
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
  const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);
  if (await isFile(join(path, 'model.safetensors'))) return join(path, 'model.safetensors');
  const checkpoints = join(path, 'checkpoints');
  if (await isFile(join(checkpoints, 'best', 'model.safetensors'))) return join(checkpoints, 'best', 'model.safetensors');
  const steps = (await readdir(checkpoints).catch(() => [] as string[])).filter((n) => /^step-\d+$/.test(n)).sort();
  if (steps.length > 0) return join(checkpoints, steps[steps.length - 1], 'model.safetensors');
  throw new InputFileError(path, 'is a folder without model.safetensors or checkpoints/', 'pass a run folder of `msccnet train`, one of its checkpoints, or a .safetensors file');
}

/** What an old file (no config in its metadata) is built as. */
export interface ModelFileFallback {
  variant?: string;
  inputSize?: number;
  /** further config fields over the variant */
  overrides?: MsccnetConfigInput;
}

export interface LoadedModelFile {
  /** the model in eval mode with the file's weights */
  readonly model: MSCCNet;
  readonly info: ModelFileInfo;
  /** true when the config came from the file itself, false when from the fallback */
  readonly described: boolean;
  /** the .safetensors file actually read */
  readonly path: string;
  /** `sha256:…` of the file */
  readonly weightsHash: string;
}

/**
 * Rebuilds the exact model of a weights file (or a run/checkpoint folder) and loads it strictly.
 * Files without metadata are built as `fallback.variant` at `fallback.inputSize`.
 */
export async function loadModelFile(path: string, fallback: ModelFileFallback = {}): Promise<LoadedModelFile> {
  const file = await resolveModelFile(path);
  const bytes = await readFile(file).catch((err: unknown) => {
    throw new InputFileError(file, 'cannot read', 'check the path of the weights file', { cause: err });
  });
  const weightsHash = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  let loaded;
  try {
    loaded = await loadSafetensors(file);
  } catch (err) {
    throw new InputFileError(file, `cannot read safetensors (${err instanceof Error ? err.message : String(err)})`,
      'convert a PyTorch checkpoint with `msccnet weights convert IN.pth --out W.safetensors`', { cause: err });
  }
  const own = readModelFileInfo(loaded.metadata, file);
  const variant = fallback.variant ?? 'msccnet';
  const info = own ?? (() => {
    const config = parseMsccnetConfig({ ...variantConfig(variant).config, ...fallback.overrides, ...(fallback.inputSize ? { inputSize: fallback.inputSize } : {}) });
    return { method: 'msccnet', variant, config, inputSize: config.inputSize, preprocessing: officialPreprocess(config.inputSize) };
  })();
  const model = buildModel(info);
  const problems = stateDictProblems(model, loaded.tensors);
  if (problems.length > 0) {
    model.dispose();
    torch.dispose([...loaded.tensors.values()]);
    throw new WeightsError(file, problems.slice(0, 20), own
      ? 'the file\'s metadata and tensors disagree: re-save it with msccnet'
      : 'this file has no model config in its metadata: pass the --variant and --input-size it was trained with');
  }
  model.loadStateDict(loaded.tensors);
  torch.dispose([...loaded.tensors.values()]);
  return { model: model.eval(), info, described: own !== null, path: file, weightsHash };
}
