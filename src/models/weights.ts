import type { Tensor } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { loadSafetensors } from '../nn/index.js';
import { InputFileError } from '../errors.js';
import { WeightsError } from './errors.js';
import type { ResNet } from './resnet.js';

/** Reads a safetensors file; a missing or malformed file becomes an InputFileError. */
async function readWeights(path: string): Promise<Map<string, Tensor>> {
  try {
    return (await loadSafetensors(path)).tensors;
  } catch (err) {
    throw new InputFileError(path, `cannot read safetensors (${err instanceof Error ? err.message : String(err)})`,
      'convert PyTorch checkpoints with safetensors.torch.save_file(model.state_dict(), path)', { cause: err });
  }
}

/** Names and shapes that differ between a state dict and the model; empty when they fit exactly. */
export function stateDictProblems(model: Module, state: ReadonlyMap<string, Tensor>): string[] {
  const own = model.stateDict();
  const problems: string[] = [];
  for (const [name, t] of own) {
    const other = state.get(name);
    if (other === undefined) problems.push(`missing: ${name} ${shapeText(t.shape)}`);
    else if (!sameShape(other.shape, t.shape)) problems.push(`shape: ${name} is ${shapeText(other.shape)}, the model has ${shapeText(t.shape)}`);
  }
  for (const name of state.keys()) if (!own.has(name)) problems.push(`unexpected: ${name}`);
  return problems;
}

/**
 * Loads a whole-model safetensors file with the official state-dict names (e.g. a converted
 * official MSCCNet checkpoint), strictly: every name and shape must match.
 */
export async function loadWeights(model: Module, path: string): Promise<void> {
  const state = await readWeights(path);
  const problems = stateDictProblems(model, state);
  if (problems.length > 0) {
    throw new WeightsError(path, problems.slice(0, 20).concat(problems.length > 20 ? [`… ${problems.length - 20} more`] : []),
      'the file must hold the official state-dict names of this model variant; for an ImageNet backbone use loadBackboneWeights');
  }
  model.loadStateDict(state, { strict: true });
}

/** What a backbone-only load took and left. */
export interface BackboneLoadReport {
  /** source keys copied into the backbone */
  used: string[];
  /** source keys not used, with the reason */
  skipped: { key: string; reason: string }[];
  /** backbone entries the source did not provide (they keep their values) */
  missing: string[];
}

/** Prefixes that wrap backbone names in common checkpoints (DDP, OpenMMLab segmentors, ours). */
const BACKBONE_PREFIXES = ['module.', 'backbone_net.', 'backbone.'];

/**
 * Loads ImageNet weights into the backbone from torchvision or OpenMMLab ResNet names
 * (`conv1`/`stem.0`, `layer1.0.conv1.weight`, …, with or without a `backbone.` prefix).
 * Unlike the reference's silent `strict=False`, it reports every used, skipped and missing key;
 * torchvision's 7×7 `conv1`/`bn1` and the `fc` head do not fit the V1c stem and are skipped.
 */
export async function loadBackboneWeights(backbone: ResNet, source: string | ReadonlyMap<string, Tensor>): Promise<BackboneLoadReport> {
  const state = typeof source === 'string' ? await readWeights(source) : source;
  const own = backbone.stateDict();
  const take = new Map<string, Tensor>();
  const report: BackboneLoadReport = { used: [], skipped: [], missing: [] };
  for (const [key, t] of state) {
    let name = key;
    for (let stripped = true; stripped;) {
      stripped = false;
      for (const p of BACKBONE_PREFIXES) {
        if (name.startsWith(p)) { name = name.slice(p.length); stripped = true; }
      }
    }
    const target = own.get(name);
    if (target === undefined) report.skipped.push({ key, reason: `no backbone entry '${name}'` });
    else if (!sameShape(t.shape, target.shape)) report.skipped.push({ key, reason: `shape ${shapeText(t.shape)} ≠ ${shapeText(target.shape)}` });
    else if (take.has(name)) report.skipped.push({ key, reason: `duplicate of another key for '${name}'` });
    else { take.set(name, t); report.used.push(key); }
  }
  report.missing = [...own.keys()].filter((name) => !take.has(name));
  if (report.used.length === 0) {
    throw new WeightsError(typeof source === 'string' ? source : 'state dict', [`none of ${state.size} keys is a ResNet backbone entry`],
      'pass a torchvision or OpenMMLab ResNet checkpoint converted to safetensors');
  }
  backbone.loadStateDict(take, { strict: false });
  return report;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
