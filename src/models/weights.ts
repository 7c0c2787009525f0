import type { Tensor } from '../torch/index.js';
import type { Module } from '../nn/index.js';
import { loadSafetensors } from '../nn/index.js';
import { InputFileError } from '../errors.js';
import { WeightsError } from './errors.js';
import { rejectRenamedLayout } from './convert.js';

/** Reads a safetensors file; a missing or malformed file becomes an InputFileError. */
async function readWeights(path: string): Promise<Map<string, Tensor>> {
  try {
    return (await loadSafetensors(path)).tensors;
  } catch (err) {
    throw new InputFileError(
      path,
      `cannot read safetensors (${err instanceof Error ? err.message : String(err)})`,
      'convert PyTorch checkpoints with safetensors.torch.save_file(model.state_dict(), path)',
      { cause: err },
    );
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
  if (problems.length > 0) rejectRenamedLayout(state.keys(), path);
  if (problems.length > 0) {
    throw new WeightsError(
      path,
      problems.slice(0, 20).concat(problems.length > 20 ? [`… ${problems.length - 20} more`] : []),
      'the file must hold the official state-dict names of this model variant; for an ImageNet backbone use loadBackboneWeights',
    );
  }
  model.loadStateDict(state, { strict: true });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
