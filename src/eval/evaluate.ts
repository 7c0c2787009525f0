/**
 * The one evaluation path (official-spec §10): samples are decoded and preprocessed on the
 * loader's threads, batched through any InferenceEngine (libtorch or onnxruntime, fp32 or int8;
 * the engine owns its device), and each result goes into an Evaluator. The trainer's
 * validation, every protocol and `msccnet evaluate` call it. Prints nothing.
 */
import { preprocessSpecOf, runJpegRegion, type InferenceEngine } from '../infer/pipeline.js';
import type { Sample } from '../samples/dataset.js';
import { evalItems, SamplePool, type EvalItem, type SkippedSample } from '../samples/loader.js';
import { Evaluator, type EvaluationResult, type EvaluatorOptions, type SampleResult } from './evaluator.js';
import type { SampleRecord } from './record.js';
import type { Perturbation } from '../samples/perturb.js';
import type { DctInputOptions } from '../samples/load.js';

export interface EvaluateProgress {
  /** samples done (evaluated or skipped) of `total` */
  readonly done: number;
  readonly total: number;
}

export interface EvaluateOptions {
  /** images per engine call (default 8) */
  readonly batchSize?: number;
  /** decoding threads; default: a pool of this size is made and closed here (0 decodes inline) */
  readonly pool?: SamplePool;
  readonly workers?: number;
  /** batches decoded ahead (default 2) */
  readonly prefetch?: number;
  /** results are added to this evaluator (shards, resumed runs); default a new one */
  readonly evaluator?: Evaluator;
  readonly evaluatorOptions?: EvaluatorOptions;
  /** a robustness sweep's perturbation of each crop before preprocessing (default none) */
  readonly perturbation?: Perturbation | null;
  /** seeds the noise perturbation (with each sample id); default 0 */
  readonly seed?: number;
  /**
   * build each sample's DCT inputs from its crop resized to the input side, JPEG-encoded (the
   * trainer's validation of CAT-Net). Without it, an engine with `jpegInput` reads each sample's
   * file at its own size (a JPEG's own coefficients, else the re-encode: `runJpegRegion`).
   */
  readonly dct?: DctInputOptions;
  /** each batch's samples and their records, in list order, once evaluated (e.g. to append them to a log) */
  readonly onBatch?: (done: readonly { readonly sample: Sample; readonly record: SampleRecord }[]) => void | Promise<void>;
  readonly onSkip?: (s: SkippedSample, sample: Sample) => void;
  readonly onProgress?: (p: EvaluateProgress) => void;
  readonly signal?: AbortSignal;
}

/**
 * Runs `engine` over `samples` and adds every result to `options.evaluator` (or a new one),
 * which it returns. Samples go through the engine's PreprocessSpec; metrics are at each
 * crop's original mask size.
 */
export async function evaluateInto(engine: InferenceEngine, samples: readonly Sample[], options: EvaluateOptions = {}): Promise<Evaluator> {
  const evaluator = options.evaluator ?? new Evaluator(options.evaluatorOptions);
  const batchSize = Math.max(1, options.batchSize ?? 8);
  const spec = preprocessSpecOf(engine);
  const S = spec.inputSize;
  const fileInput = options.dct === undefined ? engine.jpegInput : undefined;
  const pool = options.pool ?? (await SamplePool.create(options.workers ?? 0));
  let done = 0;
  let skipped = 0;
  const progress = (): void => options.onProgress?.({ done: done + skipped, total: samples.length });
  let items: EvalItem[] = [];
  const flush = async (): Promise<void> => {
    if (items.length === 0) return;
    const outs = fileInput === undefined ? await runBatch(engine, items, S, options.dct !== undefined) : await runFiles(engine, items, batchSize);
    const batch: { sample: Sample; record: SampleRecord }[] = [];
    for (const [k, it] of items.entries()) {
      const record = evaluator.add({
        id: it.sample.id,
        label: it.sample.label,
        ...outs[k],
        gtRaw: { data: it.gt, shape: [it.height, it.width] },
        video: it.sample.video,
        method: it.sample.label === 1 ? it.sample.method : undefined,
      });
      batch.push({ sample: it.sample, record });
      done++;
    }
    await options.onBatch?.(batch);
    items = [];
    progress();
  };
  try {
    const onSkip = (s: SkippedSample, sample: Sample): void => {
      skipped++;
      options.onSkip?.(s, sample);
    };
    const perturb = options.perturbation ? { perturbation: options.perturbation, seed: options.seed ?? 0 } : undefined;
    const o = {
      spec,
      prefetch: (options.prefetch ?? 2) * batchSize,
      onSkip,
      ...(perturb && { perturb }),
      ...(options.dct && { dct: options.dct }),
      ...(fileInput && { jpeg: { jpegQuality: fileInput.jpegQuality } }),
    };
    for await (const it of evalItems(pool, samples, o)) {
      options.signal?.throwIfAborted();
      items.push(it);
      if (items.length === batchSize) await flush();
    }
    await flush();
  } finally {
    if (options.pool === undefined) await pool.close();
  }
  return evaluator;
}

type ItemOutputs = Pick<SampleResult, 'imageLogits' | 'maskLogits'>;

/** One engine call on the items' preprocessed images (and their DCT inputs with `dct`). */
async function runBatch(engine: InferenceEngine, items: readonly EvalItem[], S: number, dct: boolean): Promise<ItemOutputs[]> {
  const n = items.length;
  const input = new Float32Array(n * 3 * S * S);
  items.forEach((it, k) => input.set(it.image, k * 3 * S * S));
  const aux = dct ? { dctVolume: concat(items.map((it) => it.aux!.dctVolume)), qtable: concat(items.map((it) => it.aux!.qtable)) } : undefined;
  const out = await engine.run(input, n, aux);
  const K = out.classes;
  const per = K * out.maskSide * out.maskSide;
  return items.map((_, k) => ({
    imageLogits: out.imageLogits.subarray(k * K, (k + 1) * K),
    maskLogits: { data: out.maskLogits.subarray(k * per, (k + 1) * per), shape: [K, out.maskSide, out.maskSide] as const },
  }));
}

/** Each item's whole file through an engine with `jpegInput`, its mask logits at the file's own size. */
async function runFiles(engine: InferenceEngine, items: readonly EvalItem[], batchSize: number): Promise<ItemOutputs[]> {
  const outs: ItemOutputs[] = [];
  for (const it of items) {
    const r = await runJpegRegion(engine, it.source!, { x: 0, y: 0, width: it.width, height: it.height }, batchSize);
    outs.push({ imageLogits: r.imageLogits, maskLogits: { data: r.maskLogits, shape: [r.classes, it.height, it.width] } });
  }
  return outs;
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `evaluateInto` on a new Evaluator, and its result: the official metrics and the labelled extras. */
export async function evaluate(engine: InferenceEngine, samples: readonly Sample[], options: EvaluateOptions = {}): Promise<EvaluationResult> {
  return (await evaluateInto(engine, samples, options)).result();
}
