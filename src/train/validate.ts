/** Validation with the official metrics during training and on a protocol's test set, sharded across processes and merged exactly. */
import { Evaluator, type EvaluationResult } from '../eval/index.js';
import { type MethodModel } from '../models/index.js';
import { deviceOf } from '../nn/index.js';
import type { TrainConfig } from './config.js';
import { type Sample } from '../samples/dataset.js';
import { SamplePool, type SkippedSample } from '../samples/loader.js';
import type { DctInputOptions } from '../samples/load.js';
import { evaluateInto } from '../eval/evaluate.js';
import { createTorchEngine } from '../infer/engines.js';
import type { InferenceEngine } from '../infer/pipeline.js';
import { loadSplit } from './epochs.js';
import type { ProcessGroup } from './distributed.js';

/**
 * The loader's `dct` option for a method with auxiliary inputs (CAT-Net): its config's
 * `jpegQuality`, at which every transformed crop is JPEG-encoded; none for the other methods.
 */
export function dctInputsOf(model: MethodModel): { dct?: DctInputOptions } {
  if (model.auxiliaryInputs === undefined) return {};
  return { dct: { jpegQuality: (model.config as { jpegQuality: number }).jpegQuality } };
}

/**
 * Official validation over the validation split: `evaluate` with the model as a libtorch engine
 * (resize to the crop size, forward in eval mode, metrics at the original mask size). With a
 * group, each process takes every world-th sample and the evaluator states are merged exactly
 * on every rank.
 */
export async function validate(
  model: MethodModel,
  config: TrainConfig,
  pool: SamplePool,
  group: ProcessGroup | null,
  onSkip?: (s: SkippedSample) => void,
  split = config.data.valSplit,
): Promise<EvaluationResult> {
  const { samples } = await loadSplit(config, split);
  return validateSamples(model, config, pool, samples, group, onSkip);
}

/** `validate` on a given sample list (a protocol's test set). */
export async function validateSamples(
  model: MethodModel,
  config: TrainConfig,
  pool: SamplePool,
  samples: readonly Sample[],
  group: ProcessGroup | null = null,
  onSkip?: (s: SkippedSample) => void,
): Promise<EvaluationResult> {
  return (await validationEvaluator(model, config, pool, samples, group, onSkip)).result();
}

/** {@link validateSamples}' evaluator, whose records also give the per-video units of a protocol's test (eval/units.ts). */
export async function validationEvaluator(
  model: MethodModel,
  config: TrainConfig,
  pool: SamplePool,
  samples: readonly Sample[],
  group: ProcessGroup | null = null,
  onSkip?: (s: SkippedSample) => void,
): Promise<Evaluator> {
  const rank = group?.rank ?? 0;
  const world = group?.worldSize ?? 1;
  const shard = samples.filter((_, i) => i % world === rank);
  model.eval();
  // the run keeps its model: this engine only borrows it
  const engine: InferenceEngine = {
    ...createTorchEngine(model, { device: deviceOf(model), precision: config.precision, channelsLast: config.channelsLast }),
    release: async () => undefined,
  };
  const evaluator = await evaluateInto(engine, shard, {
    pool,
    batchSize: Math.max(1, config.microBatch || Math.min(8, config.batchSize)),
    prefetch: config.data.prefetch,
    onSkip,
    ...dctInputsOf(model),
  });
  model.train();
  if (group !== null) {
    const states = await group.allGatherJson(evaluator.state());
    const merged = new Evaluator();
    for (const s of states) merged.merge(s);
    return merged;
  }
  return evaluator;
}
