/**
 * `msccnet evaluate` as a library: one evaluation folder, one condition per perturbation (the
 * clean test set first), each resumable. A condition's per-image results are appended to
 * `<cond>/records.jsonl` (one line per sample in list order: its SampleRecord, or why it was
 * skipped) with an fsync per batch; `<cond>/progress.json` (written atomically) commits how many
 * lines are final together with the pixel-AUC histogram over exactly those lines. A killed run
 * continues after the last committed batch, on batch boundaries, so its batches, records and
 * therefore its metrics equal a one-shot run's. Prints nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { writeFileAtomic } from '../io/atomic.js';
import { withFolderLock } from '../io/lock.js';
import { fileSha256 } from '../io/hash.js';
import { resolveModelFile } from '../models/model-file.js';
import { ioErrorOf, MsccnetError } from '../errors.js';
import { preprocessSpecOf, type InferenceEngine } from '../infer/pipeline.js';
import { lineChart, type Series } from '../eval/svg.js';
import type { Sample } from '../samples/dataset.js';
import type { SamplePool } from '../samples/loader.js';
import { evaluateInto } from '../eval/evaluate.js';
import { Evaluator, type EvaluationResult } from '../eval/evaluator.js';
import type { SampleRecord } from '../eval/record.js';
import type { SparseHistogram } from '../eval/histogram.js';
import { perturbationLevel, perturbationName, type Perturbation } from '../samples/perturb.js';

/**
 * What an evaluation folder was made for; a resumed run must match it. The folder also records
 * the contents (sha256) of the model and the manifest and the engine's preprocessing, so a model
 * file replaced at the same path is refused rather than mixed into the old model's records.
 */
export interface EvaluationIdentity {
  /** the model's path (a file or run folder), or a name for a model that is no file (e.g. `detfill`) */
  readonly model: string;
  /** `sha256:…` naming the model's weights; default: the contents of `model` when it is a file or run folder, else null */
  readonly modelSha256?: string;
  readonly engine: string;
  readonly manifest: string;
  readonly split: string;
  readonly batchSize: number;
  readonly seed: number;
  readonly pixelAuc: boolean;
}

export interface Condition {
  readonly name: string;
  readonly perturbation: Perturbation | null;
  readonly result: EvaluationResult;
  /** samples evaluated in an earlier, interrupted run of this folder */
  readonly resumed: number;
}

export type EvaluationRunEvent =
  | { readonly kind: 'condition'; readonly name: string; readonly index: number; readonly count: number; readonly resumedFrom: number; readonly total: number }
  | { readonly kind: 'progress'; readonly name: string; readonly done: number; readonly total: number }
  | { readonly kind: 'skip'; readonly name: string; readonly id: string; readonly reason: string };

export interface EvaluationRunOptions {
  readonly outDir: string;
  readonly identity: EvaluationIdentity;
  readonly perturbations?: readonly Perturbation[];
  readonly pool?: SamplePool;
  readonly workers?: number;
  /** progress.json is committed after every `commitEvery`-th batch (default 1) once `commitSeconds` have
   * passed since the last commit (default 30 with pixel AUC, whose histogram is megabytes; 0 without) */
  readonly commitEvery?: number;
  readonly commitSeconds?: number;
  readonly onEvent?: (e: EvaluationRunEvent) => void;
  readonly signal?: AbortSignal;
}

/** An evaluation folder made for another model, engine, test set or setting. */
export class EvaluationFolderError extends MsccnetError {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super('MSCCNET_EVAL_FOLDER', `${path}: ${problem}`, 'pass another --out, or delete the folder to start over');
  }
}

type Line = { readonly i: number; readonly record: SampleRecord } | { readonly i: number; readonly skipped: string; readonly id: string };
interface Progress {
  readonly lines: number;
  readonly histogram: SparseHistogram | null;
}

/** The committed lines of a condition folder (the rest of the file, if any, is dropped and redone). */
async function readCommitted(dir: string): Promise<{ lines: Line[]; histogram: SparseHistogram | null }> {
  const progressPath = join(dir, 'progress.json');
  if (!existsSync(progressPath)) return { lines: [], histogram: null };
  const progress = JSON.parse(await readFile(progressPath, 'utf8')) as Progress;
  const text = existsSync(join(dir, 'records.jsonl')) ? await readFile(join(dir, 'records.jsonl'), 'utf8') : '';
  const all = text.split('\n');
  if (all.length - 1 < progress.lines) throw new EvaluationFolderError(dir, `records.jsonl holds fewer lines than progress.json commits (${progress.lines})`);
  const lines = all.slice(0, progress.lines).map((l) => JSON.parse(l) as Line);
  lines.forEach((l, k) => {
    if (l.i !== k) throw new EvaluationFolderError(dir, `records.jsonl line ${k + 1} is for sample ${l.i}`);
  });
  return { lines, histogram: progress.histogram };
}

/** The contents of the model file `model` names (a run folder: the weights file it resolves to), or null for a name that is no path. */
async function modelContentHash(model: string): Promise<string | null> {
  if (!existsSync(model)) return null;
  return fileSha256(await resolveModelFile(model));
}

const idsHash = (samples: readonly Sample[]): string =>
  createHash('sha256')
    .update(samples.map((s) => s.id).join('\n'))
    .digest('hex');

/** One condition: resume from its committed lines, evaluate the rest, commit as it goes. */
async function runCondition(
  engine: InferenceEngine,
  samples: readonly Sample[],
  dir: string,
  perturbation: Perturbation | null,
  o: EvaluationRunOptions,
  emit: (e: EvaluationRunEvent) => void,
  index: number,
  count: number,
): Promise<Condition> {
  const name = perturbationName(perturbation);
  const { pixelAuc, batchSize, seed } = o.identity;
  const committed = await readCommitted(dir);
  const lines: Line[] = [...committed.lines];
  // rewrite the file to its committed prefix: lines of an unfinished batch are redone
  await writeFileAtomic(join(dir, 'records.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  const records = lines.flatMap((l) => ('record' in l ? [l.record] : []));
  const evaluator = Evaluator.fromState({ records, pixelHistogram: pixelAuc ? (committed.histogram ?? { bins: [], real: [], fake: [] }) : null });
  const start = lines.length;
  emit({ kind: 'condition', name, index, count, resumedFrom: start, total: samples.length });
  const position = new Map<Sample, number>(samples.map((s, i) => [s, i]));
  const pending: Line[] = [];
  const commitEvery = Math.max(1, o.commitEvery ?? 1);
  const commitMs = 1000 * (o.commitSeconds ?? (pixelAuc ? 30 : 0));
  let batches = 0;
  let lastCommit = performance.now();
  const commit = async (): Promise<void> => {
    lastCommit = performance.now();
    await writeFileAtomic(join(dir, 'progress.json'), JSON.stringify({ lines: lines.length, histogram: evaluator.state().pixelHistogram } satisfies Progress));
  };
  const recordsPath = join(dir, 'records.jsonl');
  const fh = await open(recordsPath, 'a');
  /** the pending lines, flushed to the disk; a failed write (full disk) names the file */
  const append = async (): Promise<void> => {
    try {
      await fh.appendFile(pending.map((l) => `${JSON.stringify(l)}\n`).join(''));
      await fh.sync();
    } catch (err) {
      throw ioErrorOf(err, recordsPath) ?? err;
    }
  };
  try {
    await evaluateInto(engine, samples.slice(start), {
      evaluator,
      batchSize,
      seed,
      perturbation,
      pool: o.pool,
      workers: o.workers,
      signal: o.signal,
      onSkip: (s, sample) => {
        pending.push({ i: position.get(sample)!, skipped: s.reason, id: sample.id });
        emit({ kind: 'skip', name, id: sample.id, reason: s.reason });
      },
      onBatch: async (batch) => {
        for (const { sample, record } of batch) pending.push({ i: position.get(sample)!, record });
        pending.sort((a, b) => a.i - b.i);
        await append();
        lines.push(...pending.splice(0));
        if (++batches % commitEvery === 0 && performance.now() - lastCommit >= commitMs) await commit();
      },
      onProgress: (p) => emit({ kind: 'progress', name, done: start + p.done, total: samples.length }),
    });
    if (pending.length > 0) {
      // skips after the last batch
      await append();
      lines.push(...pending.splice(0));
    }
    await commit();
  } finally {
    await fh.close();
  }
  // the final result from the records in list order: what a one-shot run computes
  const state = evaluator.state();
  const ordered = lines.flatMap((l) => ('record' in l ? [l.record] : []));
  const result = Evaluator.fromState({ records: ordered, pixelHistogram: state.pixelHistogram }).result();
  await writeFileAtomic(join(dir, 'metrics.json'), `${JSON.stringify({ condition: name, perturbation, ...result }, null, 2)}\n`);
  return { name, perturbation, result, resumed: start };
}

/**
 * Evaluates `samples` with `engine`, clean and under each perturbation, in `outDir` (resuming
 * what an interrupted run left), and writes metrics.{json,md,csv} and, for sweeps, one
 * robustness-<metric>.svg per official metric. The folder is locked for the run (io/lock.ts): a
 * second run on it is refused.
 */
export async function runEvaluation(engine: InferenceEngine, samples: readonly Sample[], o: EvaluationRunOptions): Promise<Condition[]> {
  return withFolderLock(o.outDir, () => evaluateFolder(engine, samples, o));
}

/** {@link runEvaluation} once the folder is this run's. */
async function evaluateFolder(engine: InferenceEngine, samples: readonly Sample[], o: EvaluationRunOptions): Promise<Condition[]> {
  const emit = (e: EvaluationRunEvent): void => o.onEvent?.(e);
  const identityPath = join(o.outDir, 'evaluation.json');
  const identity: Record<string, unknown> = {
    ...o.identity,
    modelSha256: o.identity.modelSha256 ?? (await modelContentHash(o.identity.model)),
    manifestSha256: existsSync(o.identity.manifest) ? await fileSha256(o.identity.manifest) : null,
    preprocessing: preprocessSpecOf(engine),
    samples: samples.length,
    ids: idsHash(samples),
  };
  if (existsSync(identityPath)) {
    const saved = JSON.parse(await readFile(identityPath, 'utf8')) as Record<string, unknown>;
    const differs = Object.entries(identity)
      .filter(([k, v]) => !isDeepStrictEqual(saved[k], v))
      .map(([k]) => k);
    if (differs.includes('modelSha256')) {
      throw new EvaluationFolderError(
        o.outDir,
        `was made for another model: the contents of ${o.identity.model} changed since (${String(saved.modelSha256 ?? 'no hash recorded')}, now ${String(identity.modelSha256)})`,
      );
    }
    if (differs.length > 0) throw new EvaluationFolderError(o.outDir, `was made for another evaluation (${differs.join(', ')} differ)`);
  } else {
    await writeFileAtomic(identityPath, `${JSON.stringify(identity, null, 2)}\n`);
  }
  const all: (Perturbation | null)[] = [null, ...(o.perturbations ?? [])];
  const conditions: Condition[] = [];
  for (const [k, p] of all.entries()) {
    o.signal?.throwIfAborted();
    conditions.push(await runCondition(engine, samples, join(o.outDir, perturbationName(p)), p, o, emit, k, all.length));
  }
  const f = formatConditions(conditions, o.identity);
  await writeFileAtomic(join(o.outDir, 'metrics.json'), f.json);
  await writeFileAtomic(join(o.outDir, 'metrics.md'), f.markdown);
  await writeFileAtomic(join(o.outDir, 'metrics.csv'), f.csv);
  if (conditions.length > 1) {
    for (const [metric, svg] of Object.entries(robustnessCharts(conditions))) await writeFileAtomic(join(o.outDir, `robustness-${metric}.svg`), svg);
  }
  return conditions;
}

/** The columns of the metrics tables: the official four, then the labelled extras. */
export const METRIC_COLUMNS = [
  ['ACC', (r: EvaluationResult) => r.official.ACC],
  ['AUC', (r: EvaluationResult) => r.official.AUC],
  ['F1', (r: EvaluationResult) => r.official.F1],
  ['mIoU', (r: EvaluationResult) => r.official.mIoU],
  ['extra: fake-class F1', (r: EvaluationResult) => r.extras.perClass.f1Fake],
  ['extra: per-image F1 (fakes)', (r: EvaluationResult) => r.extras.perImageFake.F1],
  ['extra: pixel AUC', (r: EvaluationResult) => r.extras.pixelAuc?.AUC ?? Number.NaN],
  ['extra: video AUC', (r: EvaluationResult) => r.extras.videoAuc?.AUC ?? Number.NaN],
  // MVSS-Net's protocol (Table 5, eval/mvss.ts), beside ours
  ['MVSS pixel-F1', (r: EvaluationResult) => r.extras.mvss?.pixelF1 ?? Number.NaN],
  ['MVSS image-AUC', (r: EvaluationResult) => r.extras.mvss?.imageAUC ?? Number.NaN],
  ['MVSS sensitivity', (r: EvaluationResult) => r.extras.mvss?.sensitivity ?? Number.NaN],
  ['MVSS specificity', (r: EvaluationResult) => r.extras.mvss?.specificity ?? Number.NaN],
  ['MVSS image-F1', (r: EvaluationResult) => r.extras.mvss?.imageF1 ?? Number.NaN],
  ['MVSS combined-F1', (r: EvaluationResult) => r.extras.mvss?.combinedF1 ?? Number.NaN],
] as const;

export function formatConditions(conditions: readonly Condition[], id: EvaluationIdentity): { markdown: string; csv: string; json: string } {
  const pct = (v: number): string => (Number.isNaN(v) ? '—' : (100 * v).toFixed(2));
  const markdown = [
    `### Evaluation of \`${id.model}\` (${id.engine})`,
    '',
    `Test set: \`${id.manifest}\`, split '${id.split}'. ACC, AUC, F1, mIoU: the official definitions (%, official-spec §10); columns marked extra are not in the paper; MVSS columns follow MVSS-Net's evaluate.py (Table 5's protocol, src/eval/mvss.ts).`,
    '',
    `| condition | images | ${METRIC_COLUMNS.map(([n]) => n).join(' | ')} |`,
    `|---|---:|${METRIC_COLUMNS.map(() => '---:').join('|')}|`,
    ...conditions.map((c) => `| ${c.name} | ${c.result.counts.images} | ${METRIC_COLUMNS.map(([, get]) => pct(get(c.result))).join(' | ')} |`),
    '',
  ].join('\n');
  const csv =
    [
      ['condition', 'kind', 'level', 'images', ...METRIC_COLUMNS.map(([n]) => n)].join(','),
      ...conditions.map((c) =>
        [
          c.name,
          c.perturbation?.kind ?? 'none',
          c.perturbation ? perturbationLevel(c.perturbation) : '',
          c.result.counts.images,
          ...METRIC_COLUMNS.map(([, get]) => get(c.result)),
        ].join(','),
      ),
    ].join('\n') + '\n';
  const json = `${JSON.stringify({ ...id, conditions: conditions.map((c) => ({ name: c.name, perturbation: c.perturbation, ...c.result })) }, null, 2)}\n`;
  return { markdown, csv, json };
}

const COLOURS: Readonly<Record<Perturbation['kind'], string>> = { jpeg: '#d62728', blur: '#1f77b4', noise: '#2ca02c', resize: '#9467bd' };

/**
 * One chart per official metric: a line per perturbation kind over its strength steps (step 0 =
 * clean, then the levels in the order given), so kinds with different units share one x axis.
 */
export function robustnessCharts(conditions: readonly Condition[]): Record<string, string> {
  const clean = conditions.find((c) => c.perturbation === null);
  const kinds = [...new Set(conditions.flatMap((c) => (c.perturbation ? [c.perturbation.kind] : [])))];
  const out: Record<string, string> = {};
  for (const [metric, get] of METRIC_COLUMNS.slice(0, 4)) {
    const series: Series[] = kinds.map((kind) => {
      const steps = conditions.filter((c) => c.perturbation?.kind === kind);
      const y = [...(clean ? [get(clean.result)] : []), ...steps.map((c) => get(c.result))].map((v) => 100 * v);
      const levels = steps.map((c) => perturbationLevel(c.perturbation!)).join(', ');
      return { name: `${kind} (${levels})`, x: y.map((_, i) => i), y, colour: COLOURS[kind] };
    });
    out[metric] = lineChart(`${metric} under perturbations`, 'strength step (0 = clean)', `${metric} (%)`, series);
  }
  return out;
}
