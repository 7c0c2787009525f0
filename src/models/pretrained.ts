import { extname } from 'node:path';
import { ArgumentError, InputFileError } from '../errors.js';
import { loadSafetensors, type Module } from '../nn/index.js';
import { readPth } from '../nn/pth/index.js';
import { torch } from '../torch/index.js';
import {
  CONVERTER_NAMES,
  loadConverted,
  requireConverter,
  sourceWeights,
  type BackboneScope,
  type ConverterName,
  type LoadReport,
  type SourceWeights,
} from './convert.js';
import { methodBackbone, methodDefinition } from './registry.js';
import type { MethodModel } from './method.js';

/** Initial weights: a file, and optionally its layout and whether only layer1–4 may load. */
export interface PretrainedSpec {
  file: string;
  /** the checkpoint's layout (default: detected from its keys) */
  from?: ConverterName;
  /** torchvision into a deep-stem model: load layer1–4, skip the stem */
  layersOnly?: boolean;
}

/** The tensors of a .pth/.pt or .safetensors checkpoint with the layout they follow. */
export async function readCheckpointWeights(file: string, from?: ConverterName): Promise<SourceWeights & { release(): void }> {
  const ext = extname(file).toLowerCase();
  if (ext === '.safetensors') {
    let tensors;
    let metadata: Record<string, string>;
    try {
      ({ tensors, metadata } = await loadSafetensors(file));
    } catch (err) {
      throw new InputFileError(file, `cannot read safetensors (${err instanceof Error ? err.message : String(err)})`, 'check the file', { cause: err });
    }
    // `weights convert` without a config records the layout it detected
    const recorded = CONVERTER_NAMES.find((name) => name === metadata.converter);
    return { converter: from ?? recorded ?? requireConverter(tensors.keys(), file), tensors, release: () => torch.dispose([...tensors.values()]) };
  }
  // .pth tensors are views into the file buffer: nothing to free but the buffer itself (GC)
  return { ...sourceWeights((await readPth(file)).root, from, file), release: () => undefined };
}

/**
 * The weights of `files` for `method`: one file as readCheckpointWeights reads it; several (a
 * method whose official weights are several checkpoints, HiFi-Net) joined by the method into one
 * whole-model state dict under the official layout.
 */
export async function readMethodWeights(method: string, files: readonly string[], from?: ConverterName): Promise<SourceWeights & { release(): void }> {
  if (files.length === 1) return readCheckpointWeights(files[0], from);
  const def = methodDefinition(method);
  if (def.joinCheckpoints === undefined)
    throw new ArgumentError('<in>', `one checkpoint for ${method} (only a method with several official checkpoints joins them)`, files.join(' '));
  const parts: (SourceWeights & { release(): void; source: string })[] = [];
  try {
    for (const file of files) parts.push({ ...(await readCheckpointWeights(file, from ?? 'official')), source: file });
    return { converter: 'official', tensors: def.joinCheckpoints(parts), release: () => parts.forEach((p) => p.release()) };
  } catch (err) {
    parts.forEach((p) => p.release());
    throw err;
  }
}

/** Where a model's ImageNet backbone sits: its method's (registry), else (a bare MSCCNet) `backbone_net.`. */
function backboneOf(model: Module): BackboneScope | undefined {
  return 'methodName' in model ? methodBackbone((model as MethodModel).methodName) : undefined;
}

/**
 * Loads initial weights into `model` through the converter of their layout and returns the load
 * report: an ImageNet file fills the method's backbone (every copy of it), a whole checkpoint the
 * whole model. A load that uses no tensor, a layout the backbone does not take, or a strict
 * (whole-model) load that does not fit throws.
 */
export async function loadPretrained(model: Module, spec: PretrainedSpec): Promise<LoadReport> {
  const weights = await readCheckpointWeights(spec.file, spec.from);
  try {
    return loadConverted(model, weights, spec.file, { layersOnly: spec.layersOnly, backbone: backboneOf(model) });
  } finally {
    weights.release();
  }
}
