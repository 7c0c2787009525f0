/**
 * The paper's protocols as runs of `train` plus an official evaluation (paper §5.1–§5.2):
 * intra-dataset (Table 2: FF++ at one compression), cross-dataset (Table 3: FF++ C40 → another
 * test set such as DEFACTO) and leave-one-manipulation-out (Table 4: five runs and their
 * average). Each table cell names the run folder that produced it. Prints nothing.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { writeFileAtomic } from '../io/atomic.js';
import { withFolderLock } from '../io/lock.js';
import { errorData, problemLine } from '../errors.js';
import type { MethodName } from '../models/method.js';
import { videoUnits, type EvaluationResult, type VideoUnit } from '../eval/index.js';
import type { FailedRow } from './errors.js';
import { listCheckpoints, loadCheckpoint } from '../train/checkpoint.js';
import { applyOverrides, applyVariant, parseTrainConfig, type TrainConfig } from '../train/config.js';
import { readManifestSamples, readReferenceLayout, type ListOptions, type SampleList } from '../samples/dataset.js';
import { DatasetError } from '../samples/errors.js';
import { SamplePool } from '../samples/loader.js';
import { resolveDevice } from '../torch/device.js';
import { buildModel, train, type TrainEvent } from '../train/trainer.js';
import { plannedSteps, trainingDataRecord } from '../train/epochs.js';
import { validationEvaluator } from '../train/validate.js';
import { dataListRecord } from '../train/data-list.js';
import { meanStd } from './statistics.js';
import { formatComparisons, referenceComparisons, type ComparisonRow } from './comparisons.js';

export const PROTOCOLS = ['intra', 'cross-dataset', 'leave-one-out'] as const;
export type Protocol = (typeof PROTOCOLS)[number];
export const METRICS = ['ACC', 'AUC', 'F1', 'mIoU'] as const;
export type Metric = (typeof METRICS)[number];

/** One seed's value of a cell and the run folder that produced it. */
export interface SeedValue {
  readonly seed: number;
  readonly value: number;
  readonly run: string;
}
/** The spread of a cell over seeds: sample std (n − 1), n, and every seed's value. */
export interface SeedSpread {
  readonly std: number;
  readonly n: number;
  readonly perSeed: readonly SeedValue[];
}
export interface Cell {
  /** the value, or with `--seeds` the mean over seeds */
  readonly value: number;
  readonly run: string;
  /** with `--seeds` only (without, the cell is one run of the config's own seed) */
  readonly spread?: SeedSpread;
}
export interface TableRow {
  readonly name: string;
  readonly cells: Readonly<Record<Metric, Cell | null>>;
}
export interface ProtocolTable {
  readonly protocol: Protocol;
  readonly title: string;
  /** what the columns were measured on, e.g. `FF++ c40 → test` */
  readonly setting: string;
  readonly augment: string;
  readonly rows: readonly TableRow[];
  /** with `--seeds` only: the training seeds every cell is the mean over */
  readonly seeds?: readonly number[];
}

export interface ProtocolOptions {
  readonly outDir: string;
  /** cross-dataset: the test manifest (e.g. DEFACTO from `msccnet dataset defacto`) and its split / compression */
  readonly testManifest?: string;
  readonly testSplit?: string;
  readonly testCompression?: string;
  /**
   * Training seeds (`--seeds`): each run is trained once per seed in `<run>/seed-<s>/` with the
   * config's `seed` set to s, and its cells are the mean ± sample std over seeds. Absent: one run
   * of the config's own seed in `<run>/`.
   */
  readonly seeds?: readonly number[];
  readonly onEvent?: (e: ProtocolEvent) => void;
  readonly signal?: AbortSignal;
  /**
   * decode threads shared by every run's training and test, which the caller closes; default: one
   * pool of the config's data.workers for the protocol's runs (a new worker thread costs about 14 k
   * page faults to start, so one per run added up)
   */
  readonly pool?: SamplePool;
}

/** The options inside a protocol, once its runs' decode pool is settled (the caller's or the protocol's own). */
type PooledOptions = ProtocolOptions & { readonly pool: SamplePool };

/** A training event of one run (named by its table row), or that run's test result. */
export type ProtocolEvent =
  | { readonly run: string; readonly event: TrainEvent }
  | {
      readonly run: string;
      readonly event: { kind: 'tested'; metrics: EvaluationResult['official']; /** from a finished earlier run of the same config */ reused: boolean };
    };

/** Where a run's test samples come from: a manifest (or the reference layout) and which of its entries. */
export interface TestSource {
  readonly manifest: string | null;
  readonly root: string | null;
  readonly list: ListOptions;
}

/** One training run of a protocol and the test set its table row is measured on. */
export interface RunPlan {
  readonly name: string;
  readonly train: TrainConfig;
  readonly test: TestSource;
}

/** The test samples of a run: the entries of its test source (manifest or reference layout). */
export async function testSamples(source: TestSource): Promise<SampleList> {
  if (source.manifest !== null) return readManifestSamples(source.manifest, source.list);
  const { compression, methods } = source.list;
  if (compression === null || methods === null) {
    throw new DatasetError('a reference-layout test set needs a compression and a method list', 'pass a test manifest instead');
  }
  return readReferenceLayout(source.root!, { ...source.list, compression, methods });
}

/**
 * The runs of a protocol. Intra-dataset and leave-one-out test on the training data's own test
 * split (leave-one-out on the held-out manipulation alone). Cross-dataset trains on FF++ C40 and,
 * given a test manifest, tests on that dataset's own samples: every fake and every real of its
 * test split whatever their method or compression (DEFACTO's entries are `DEFACTO`/`none`), so
 * nothing of the target set is filtered away by FF++'s method list.
 */
export function protocolPlans(protocol: Protocol, base: TrainConfig, o: ProtocolOptions): RunPlan[] {
  const runDir = (name: string): string => resolve(o.outDir, protocol, name);
  const withRun = (c: TrainConfig, name: string): TrainConfig => ({ ...c, run: { ...c.run, dir: runDir(name) } });
  const ownTest = (c: TrainConfig, methods = c.data.methods): TestSource => ({
    manifest: c.data.manifest,
    root: c.data.root,
    list: { split: c.data.testSplit, compression: c.data.compression, methods },
  });
  switch (protocol) {
    case 'intra': {
      const c = withRun(base, `ffpp-${base.data.compression}`);
      return [{ name: `FF++ ${base.data.compression}`, train: c, test: ownTest(c) }];
    }
    case 'cross-dataset': {
      const c = withRun({ ...base, data: { ...base.data, compression: 'c40' } }, 'ffpp-c40');
      const test: TestSource =
        o.testManifest === undefined
          ? { ...ownTest(c), list: { ...ownTest(c).list, split: o.testSplit ?? c.data.testSplit } }
          : { manifest: o.testManifest, root: null, list: { split: o.testSplit ?? 'test', compression: o.testCompression ?? null, methods: null } };
      return [{ name: o.testManifest === undefined ? 'FF++ c40 → FF++ test' : `FF++ c40 → ${basename(dirname(resolve(o.testManifest)))}`, train: c, test }];
    }
    case 'leave-one-out':
      return base.data.methods.map((held) => {
        const trainC = withRun({ ...base, data: { ...base.data, methods: base.data.methods.filter((m) => m !== held) } }, `without-${held}`);
        return { name: held, train: trainC, test: ownTest(trainC, [held]) };
      });
  }
}

async function trainOrResume(c: TrainConfig, o: PooledOptions, run: string): Promise<string> {
  const ckpts = join(c.run.dir, 'checkpoints');
  const resume = (await listCheckpoints(ckpts)).length > 0;
  // a run folder without a checkpoint (killed before its first) holds nothing to keep: start it again
  await train(c, { resume, overwrite: !resume, signal: o.signal, pool: o.pool, onEvent: (event) => o.onEvent?.({ run, event }) });
  const best = join(ckpts, 'best');
  const last = (await listCheckpoints(ckpts)).at(-1);
  return existsSync(best) ? best : last!;
}

/** A run's test: the official result and its per-video units (eval/units.ts), which the paired comparisons resample. */
interface Tested {
  readonly result: EvaluationResult;
  readonly units: VideoUnit[];
}

async function test(plan: RunPlan, checkpoint: string, pool: SamplePool): Promise<Tested> {
  const model = await buildModel(plan.train);
  await loadCheckpoint(checkpoint, model, null);
  model.to(resolveDevice(plan.train.device)); // validation runs wherever the model is
  const { samples } = await testSamples(plan.test);
  if (samples.length === 0) {
    throw new DatasetError(
      `the test set of '${plan.name}' is empty (${plan.test.manifest ?? plan.test.root}, split '${plan.test.list.split}')`,
      'check the test manifest, --test-split and --test-compression',
    );
  }
  try {
    const evaluator = await validationEvaluator(model, plan.train, pool, samples);
    return { result: evaluator.result(), units: videoUnits(evaluator.state().records) };
  } finally {
    model.dispose();
  }
}

/** Optimiser steps of every training run of a protocol (a progress total known before the first run starts). */
export async function protocolSteps(protocol: Protocol, base: TrainConfig, o: ProtocolOptions): Promise<number> {
  let steps = 0;
  for (const plan of protocolPlans(protocol, base, o)) for (const seeded of seedPlans(plan, o.seeds)) steps += await plannedSteps(seeded.train);
  return steps;
}

/** What a tested run leaves in its folder: the result, the checkpoint, and the plan and data it was measured under. */
export interface TestRecord extends EvaluationResult {
  readonly checkpoint: string;
  /** the test's per-video units, sorted by video (absent in folders tested before they were recorded) */
  readonly units?: readonly VideoUnit[];
  readonly split: string;
  readonly plan: { readonly train: TrainConfig; readonly test: TestSource };
  readonly data: PlanData;
}

/** Hashes of the lists a plan trains and tests on (data-list.ts): a manifest changed at the same path changes them. */
interface PlanData {
  readonly train: string;
  readonly test: string;
}

async function planData(plan: RunPlan): Promise<PlanData> {
  return { train: (await trainingDataRecord(plan.train)).sha256, test: dataListRecord((await testSamples(plan.test)).samples).sha256 };
}

/**
 * The run's earlier test result when it was measured under this very plan and data (a finished
 * run), else null: a changed config or data list is measured again, and its training resume is
 * refused by train's own checks (config.json, data.json).
 */
async function finishedResult(plan: RunPlan): Promise<TestRecord | null> {
  const path = join(plan.train.run.dir, 'test-metrics.json');
  if (!existsSync(path)) return null;
  try {
    const saved = JSON.parse(await readFile(path, 'utf8')) as Partial<TestRecord>;
    const same = JSON.stringify(saved.plan) === JSON.stringify({ train: plan.train, test: plan.test }) && isDeepStrictEqual(saved.data, await planData(plan));
    return same && saved.checkpoint !== undefined && existsSync(saved.checkpoint) ? (saved as TestRecord) : null;
  } catch {
    return null; // unreadable: measure again
  }
}

/**
 * Runs (or resumes) every training of a protocol, tests each, writes results.{json,csv,md}. A run
 * whose test-metrics.json was measured under the same plan is finished: its result is reused.
 */
export async function runProtocol(protocol: Protocol, base: TrainConfig, o: ProtocolOptions): Promise<ProtocolTable> {
  return withFolderLock(resolve(o.outDir, protocol), () => protocolRuns(protocol, base, o));
}

/** The runs of one plan: itself (seed null: the config's own seed), or one per seed in `seed-<s>/` with the config's seed set to s. */
function seedPlans(plan: RunPlan, seeds: readonly number[] | undefined): Array<RunPlan & { readonly seed: number | null }> {
  if (seeds === undefined) return [{ ...plan, seed: null }];
  return seeds.map((seed) => ({
    ...plan,
    name: `${plan.name} seed ${seed}`,
    train: { ...plan.train, seed, run: { ...plan.train.run, dir: join(plan.train.run.dir, `seed-${seed}`) } },
    seed,
  }));
}

/**
 * A finished run's result, or the run trained (or resumed), tested and its test-metrics.json
 * written. A finished run tested before per-video units were recorded is tested again from its
 * checkpoint (no training) so that it can be compared.
 */
async function measuredResult(plan: RunPlan, o: PooledOptions): Promise<EvaluationResult> {
  const finished = await finishedResult(plan);
  const reused = finished !== null;
  let result: EvaluationResult | null = finished?.units === undefined ? null : finished;
  if (result === null) {
    const checkpoint = finished?.checkpoint ?? (await trainOrResume(plan.train, o, plan.name));
    const tested = await test(plan, checkpoint, o.pool);
    result = tested.result;
    const record: TestRecord = {
      checkpoint,
      split: plan.test.list.split,
      ...result,
      units: tested.units,
      plan: { train: plan.train, test: plan.test },
      data: await planData(plan),
    };
    await writeFileAtomic(join(plan.train.run.dir, 'test-metrics.json'), `${JSON.stringify(record, null, 2)}\n`);
  }
  o.onEvent?.({ run: plan.name, event: { kind: 'tested', metrics: result.official, reused } });
  return result;
}

/** A cell over seeds: the mean, its sample std and every seed's value. */
function seedCell(perSeed: readonly SeedValue[], run: string): Cell {
  const { mean, std, n } = meanStd(perSeed.map((p) => p.value));
  return { value: mean, run, spread: { std, n, perSeed } };
}

/** {@link runProtocol} once `<out>/<protocol>` is this run's: its runs share the caller's decode threads, or one pool of their own. */
async function protocolRuns(protocol: Protocol, base: TrainConfig, o: ProtocolOptions): Promise<ProtocolTable> {
  if (o.pool !== undefined) return protocolTable(protocol, base, { ...o, pool: o.pool });
  const pool = await SamplePool.create(base.data.workers);
  try {
    return await protocolTable(protocol, base, { ...o, pool });
  } finally {
    await pool.close();
  }
}

async function protocolTable(protocol: Protocol, base: TrainConfig, o: PooledOptions): Promise<ProtocolTable> {
  const rows: TableRow[] = [];
  for (const plan of protocolPlans(protocol, base, o)) {
    const results: Array<{ seed: number | null; run: string; official: EvaluationResult['official'] }> = [];
    for (const seeded of seedPlans(plan, o.seeds)) {
      results.push({ seed: seeded.seed, run: seeded.train.run.dir, official: (await measuredResult(seeded, o)).official });
    }
    const cells = Object.fromEntries(
      METRICS.map((m) => [
        m,
        o.seeds === undefined
          ? { value: results[0]!.official[m], run: plan.train.run.dir }
          : seedCell(
              results.map((r) => ({ seed: r.seed!, value: r.official[m], run: r.run })),
              plan.train.run.dir,
            ),
      ]),
    ) as Record<Metric, Cell>;
    rows.push({ name: plan.name, cells });
  }
  if (protocol === 'leave-one-out' && rows.length > 1) {
    const dir = resolve(o.outDir, protocol);
    const average = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0) / values.length;
    rows.push({
      name: 'Average',
      cells: Object.fromEntries(
        METRICS.map((m) => [
          m,
          o.seeds === undefined
            ? { value: average(rows.map((r) => r.cells[m]!.value)), run: dir }
            : // each seed's average over the held-out manipulations first, then the spread over seeds
              seedCell(
                o.seeds.map((seed, i) => ({ seed, value: average(rows.map((r) => r.cells[m]!.spread!.perSeed[i]!.value)), run: dir })),
                dir,
              ),
        ]),
      ) as Record<Metric, Cell>,
    });
  }
  const table: ProtocolTable = {
    protocol,
    title: {
      intra: 'Table 2: intra-dataset (FF++)',
      'cross-dataset': 'Table 3: cross-dataset (train FF++ c40)',
      'leave-one-out': 'Table 4: leave one manipulation out',
    }[protocol],
    setting: `${base.data.compression}, test split '${o.testSplit ?? base.data.testSplit}'`,
    augment: base.data.augment,
    rows,
    ...(o.seeds === undefined ? {} : { seeds: o.seeds }),
  };
  await writeTables(resolve(o.outDir, protocol), table);
  return table;
}

/** Markdown (paper layout, %), CSV (one cell per line with its run) and JSON of a table. */
export function formatTables(t: ProtocolTable): { markdown: string; csv: string; json: string } {
  const pct = (c: Cell | null): string => (c === null ? '—' : percentCell(c.value, c.spread));
  const head = t.protocol === 'leave-one-out' ? 'held-out manipulation' : 'training → test';
  const markdown = [
    `### ${t.title}`,
    '',
    `Setting: ${t.setting}; augmentation preset \`${t.augment}\`; metrics: official definitions (%, official-spec §10).${seedsCaption(t.seeds)}`,
    '',
    `| ${head} | ${METRICS.join(' | ')} |`,
    `|---|${METRICS.map(() => '---:').join('|')}|`,
    ...t.rows.map((r) => `| ${r.name} | ${METRICS.map((m) => pct(r.cells[m])).join(' | ')} |`),
    '',
    'Runs:',
    ...t.rows.filter((r) => r.name !== 'Average').map((r) => `- ${r.name}: \`${r.cells.ACC?.run ?? ''}\``),
    '',
  ].join('\n');
  const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const csv =
    [
      `protocol,row,metric,value,run${t.seeds === undefined ? '' : SPREAD_CSV_HEAD}`,
      ...t.rows.flatMap((r) =>
        METRICS.map((m) =>
          [t.protocol, r.name, m, String(r.cells[m]?.value ?? ''), r.cells[m]?.run ?? '', ...(t.seeds === undefined ? [] : spreadFields(r.cells[m]?.spread))]
            .map(csvField)
            .join(','),
        ),
      ),
    ].join('\n') + '\n';
  return { markdown, csv, json: `${JSON.stringify(t, null, 2)}\n` };
}

/** A value in %, with ` ± std` when it is a mean over more than one seed. */
function percentCell(value: number, spread: SeedSpread | undefined | null): string {
  if (Number.isNaN(value)) return '—';
  return spread !== undefined && spread !== null && spread.n > 1 ? `${(100 * value).toFixed(2)} ± ${(100 * spread.std).toFixed(2)}` : (100 * value).toFixed(2);
}

/** The caption's sentence on seeds (none without `--seeds`). */
function seedsCaption(seeds: readonly number[] | undefined): string {
  if (seeds === undefined) return '';
  return ` ${seeds.length} seed${seeds.length === 1 ? '' : 's'} (${seeds.join(', ')}): mean${seeds.length > 1 ? ' ± sample std' : ''} over seeds.`;
}

/** The CSV columns of a cell's spread (seeded tables only): std, n and the per-seed values `seed:value;…`. */
const SPREAD_CSV_HEAD = ',std,n,per_seed';
function spreadFields(spread: SeedSpread | undefined | null): string[] {
  if (spread === undefined || spread === null) return ['', '', ''];
  return [String(spread.std), String(spread.n), spread.perSeed.map((p) => `${p.seed}:${p.value}`).join(';')];
}

async function writeTables(dir: string, t: ProtocolTable): Promise<void> {
  const f = formatTables(t);
  await writeFileAtomic(join(dir, 'results.md'), f.markdown);
  await writeFileAtomic(join(dir, 'results.csv'), f.csv);
  await writeFileAtomic(join(dir, 'results.json'), f.json);
}

/** One protocol run of a benchmark: a table row (an MSCCNet variant or a baseline method) at a compression, and its table. */
export interface BenchmarkRun {
  readonly row: string;
  readonly method: MethodName;
  readonly compression: string;
  readonly table: ProtocolTable;
}

/** A table in the paper's layout: one row per model (MSCCNet variant or method), column names grouped by their prefix (`c40 ACC`). */
export interface PaperTable {
  readonly protocol: Protocol;
  readonly title: string;
  readonly caption: string;
  readonly columns: readonly string[];
  /** a cell of a failed or missing run is null (shown as —); with seeds, `cells` are means and `spread` their spread */
  readonly rows: ReadonlyArray<{ readonly name: string; readonly cells: readonly (number | null)[]; readonly spread?: readonly (SeedSpread | null)[] }>;
  /** with `--seeds` only: the training seeds every cell is the mean over */
  readonly seeds?: readonly number[];
}

export interface BenchmarkOptions extends ProtocolOptions {
  /** the methods, one row each (`msccnet`, `hpfcn`, `multitask`, `ffd`, `mvss`, `sladd`); default MSCCNet alone */
  readonly methods?: readonly MethodName[];
  /** MSCCNet's rows: registered variant names (Tables 6–8: `base`, `mfa`, `mscc`, `msccnet`, …) */
  readonly variants: readonly string[];
  /** intra and leave-one-out: the FF++ compressions (Table 2 puts c40 and c23 side by side) */
  readonly compressions: readonly string[];
  /** `key.path=value` overrides of one method's runs only (e.g. `mvss: ['model.constrain=false']`) */
  readonly methodOverrides?: Readonly<Partial<Record<MethodName, readonly string[]>>>;
  /** a row's run failed (the others go on): its entry of `failed`, as soon as it happens */
  readonly onRowFailed?: (f: FailedRow) => void;
}

/** What `benchmark` wrote to `<out>/<protocol>/table.json`: the paper table, the rows that failed and the paired comparisons. */
export interface BenchmarkReport extends PaperTable {
  readonly failed: readonly FailedRow[];
  /** MSCCNet (the `msccnet` row) − every other row on each test set (comparisons.ts); none without that row */
  readonly comparisons: readonly ComparisonRow[];
}

/**
 * The config of one variant at one compression, parsed from the raw (unparsed) config with the
 * variant's model fields over its own, as `train --variant` and `export --variant` build it
 * (parsing last lets defaults that follow other fields, such as auxLoss, follow the variant).
 */
export function variantRunConfig(raw: unknown, variant: string, compression: string): TrainConfig {
  const withVariant = applyVariant(raw, variant);
  const data = (typeof withVariant.data === 'object' && withVariant.data !== null ? withVariant.data : {}) as Record<string, unknown>;
  return parseTrainConfig({ ...withVariant, method: 'msccnet', data: { ...data, compression } });
}

/**
 * The config of a baseline at one compression: the shared fields of the raw config (data, optim,
 * run, batch, epochs, device) with the method's own model at its official defaults, at the input
 * side of the protocol's crops (MSCCNet's `model.inputSize` / `data.cropSize`); the raw config's
 * `model` and `losses` are MSCCNet's and do not apply.
 */
export function methodRunConfig(raw: unknown, method: MethodName, compression: string, overrides: readonly string[] = []): TrainConfig {
  if (method === 'msccnet') return variantRunConfig(applyOverrides(raw, overrides), 'msccnet', compression);
  const crop = variantRunConfig(raw, 'msccnet', compression).data.cropSize;
  const shared = structuredClone((raw ?? {}) as Record<string, unknown>);
  const data = (typeof shared.data === 'object' && shared.data !== null ? shared.data : {}) as Record<string, unknown>;
  return parseTrainConfig(
    applyOverrides({ ...shared, method, model: { inputSize: crop }, losses: {}, data: { ...data, compression, cropSize: crop } }, overrides),
  );
}

/** A row of a benchmark table: an MSCCNet variant, or a baseline (variant null) named by its method. */
interface BenchmarkRow {
  readonly row: string;
  readonly method: MethodName;
  readonly variant: string | null;
}

/** The rows of a benchmark in table order: MSCCNet's variants where `msccnet` is listed, each baseline by its name. */
function benchmarkRows(o: BenchmarkOptions): BenchmarkRow[] {
  const methods = o.methods ?? ['msccnet'];
  return methods.flatMap((method): BenchmarkRow[] =>
    method === 'msccnet' ? o.variants.map((variant) => ({ row: variant, method, variant })) : [{ row: method, method, variant: null }],
  );
}

/**
 * Runs a protocol for every row (MSCCNet variant or baseline method) and compression, each in
 * `<out>/<row>/<compression>`, and writes the paper-layout table to
 * `<out>/<protocol>/table.{md,csv,json}`. A run that fails leaves its cells empty (—) and an entry
 * in `failed` (its error as data); the other rows still run. A rerun reuses every finished run.
 */
export async function runBenchmark(
  protocol: Protocol,
  raw: unknown,
  o: BenchmarkOptions,
): Promise<{ runs: BenchmarkRun[]; table: PaperTable; failed: FailedRow[]; comparisons: ComparisonRow[] }> {
  return withFolderLock(o.outDir, () => benchmarkRuns(protocol, raw, o));
}

/** {@link runBenchmark} once its folder is this run's. */
async function benchmarkRuns(
  protocol: Protocol,
  raw: unknown,
  o: BenchmarkOptions,
): Promise<{ runs: BenchmarkRun[]; table: PaperTable; failed: FailedRow[]; comparisons: ComparisonRow[] }> {
  const compressions = protocol === 'cross-dataset' ? ['c40'] : o.compressions;
  const rows = benchmarkRows(o);
  const runs: BenchmarkRun[] = [];
  const failed: FailedRow[] = [];
  for (const { row, method, variant } of rows) {
    for (const compression of compressions) {
      try {
        const overrides = o.methodOverrides?.[method] ?? [];
        const config =
          variant === null ? methodRunConfig(raw, method, compression, overrides) : variantRunConfig(applyOverrides(raw, overrides), variant, compression);
        // events name the row as well as the run: `hpfcn FF++ c23`
        const onEvent = (e: ProtocolEvent): void => o.onEvent?.({ ...e, run: `${row} ${e.run}` });
        const table = await runProtocol(protocol, config, { ...o, outDir: resolve(o.outDir, row, compression), onEvent });
        runs.push({ row, method, compression, table });
      } catch (err) {
        if (o.signal?.aborted) throw err; // an interrupt is no failed row
        const f: FailedRow = { row, method, compression, error: errorData(err, 'rerun with NODE_DEBUG=msccnet for the stack; report it if it persists') };
        failed.push(f);
        o.onRowFailed?.(f);
      }
    }
  }
  const table = paperTable(protocol, runs, { rows: rows.map((r) => r.row), compressions });
  const f = formatPaperTable(table);
  const dir = resolve(o.outDir, protocol);
  const comparisons: ComparisonRow[] = [];
  for (const compression of compressions) {
    const models = runs.filter((r) => r.compression === compression).map((r) => ({ name: r.row, table: r.table, compression }));
    comparisons.push(...(await referenceComparisons(models, 'msccnet')));
  }
  const report: BenchmarkReport = { ...table, failed, comparisons };
  const paired = formatComparisons(comparisons).markdown;
  const markdown = [f.markdown, ...(paired === '' ? [] : [paired]), ...(failed.length === 0 ? [] : [`${failedLines(failed)}\n`])].join('\n');
  await writeFileAtomic(join(dir, 'table.md'), markdown);
  await writeFileAtomic(join(dir, 'table.csv'), f.csv);
  await writeFileAtomic(join(dir, 'table.json'), `${JSON.stringify(report, null, 2)}\n`);
  return { runs, table, failed, comparisons };
}

/** The failed runs as Markdown list lines under the table. */
export function failedLines(failed: readonly FailedRow[]): string {
  return ['Failed runs (their cells are —):', ...failed.map((f) => `- ${f.row} (${f.compression}): ${f.error.code}: ${problemLine(f.error.problem)}`)].join(
    '\n',
  );
}

/**
 * The paper's layouts. Table 2 (and the ablations 6–8): a row per model (an MSCCNet variant or a
 * method), ACC AUC F1 mIoU per compression side by side (c40 first). Table 3: a row per model, the
 * four metrics on the target set. Table 4: a row per model, F1 and mIoU per held-out manipulation
 * and their average, then ACC and AUC likewise. `layout` keeps the rows and compressions of runs
 * that failed (their cells null).
 */
export function paperTable(
  protocol: Protocol,
  runs: readonly BenchmarkRun[],
  layout: { readonly rows?: readonly string[]; readonly compressions?: readonly string[] } = {},
): PaperTable {
  const models = [...new Set(layout.rows ?? runs.map((r) => r.row))];
  const compressions = [...new Set(layout.compressions ?? runs.map((r) => r.compression))].sort((a, b) =>
    a === 'c40' ? -1 : b === 'c40' ? 1 : a.localeCompare(b),
  );
  const find = (row: string, compression: string): ProtocolTable | undefined => runs.find((r) => r.row === row && r.compression === compression)?.table;
  const value = (t: ProtocolTable | undefined, row: string, m: Metric): Cell | null => t?.rows.find((r) => r.name === row)?.cells[m] ?? null;
  const seeds = runs.find((r) => r.table.seeds !== undefined)?.table.seeds;
  const metrics = `Metrics in [0, 1] (the official definitions, official-spec §10).${seedsCaption(seeds)}`;
  // a row's cells as the table keeps them: the values (means over seeds) and, with seeds, their spread
  const paperRow = (name: string, cells: readonly (Cell | null)[]): PaperTable['rows'][number] => ({
    name,
    cells: cells.map((c) => c?.value ?? null),
    ...(seeds === undefined ? {} : { spread: cells.map((c) => c?.spread ?? null) }),
  });
  const withSeeds = seeds === undefined ? {} : { seeds };
  switch (protocol) {
    case 'intra':
      return {
        protocol,
        title: 'Table 2: intra-dataset (FF++)',
        caption: `Train and test at each compression. ${metrics}`,
        columns: compressions.flatMap((c) => METRICS.map((m) => `${c} ${m}`)),
        rows: models.map((v) =>
          paperRow(
            v,
            compressions.flatMap((c) => {
              const t = find(v, c);
              return METRICS.map((m) => value(t, t?.rows[0]?.name ?? '', m));
            }),
          ),
        ),
        ...withSeeds,
      };
    case 'cross-dataset':
      return {
        protocol,
        title: 'Table 3: cross-dataset (train FF++ c40)',
        caption: `Tested on the target set's own samples. ${metrics}`,
        columns: [...METRICS],
        rows: models.map((v) => {
          const t = find(v, 'c40');
          return paperRow(
            v,
            METRICS.map((m) => value(t, t?.rows[0]?.name ?? '', m)),
          );
        }),
        ...withSeeds,
      };
    case 'leave-one-out': {
      const held = [...new Set(runs.flatMap((r) => r.table.rows.map((row) => row.name)))];
      const c = compressions[0]!;
      const block = (ms: readonly Metric[]): string[] => held.flatMap((h) => ms.map((m) => `${h} ${m}`));
      return {
        protocol,
        title: `Table 4: leave one manipulation out (${c})`,
        caption: `Each column group trains without that manipulation and tests on it. ${metrics}`,
        columns: [...block(['F1', 'mIoU']), ...block(['ACC', 'AUC'])],
        rows: models.map((v) => {
          const t = find(v, c);
          const cells = (ms: readonly Metric[]): (Cell | null)[] => held.flatMap((h) => ms.map((m) => value(t, h, m)));
          return paperRow(v, [...cells(['F1', 'mIoU']), ...cells(['ACC', 'AUC'])]);
        }),
        ...withSeeds,
      };
    }
  }
}

/** Markdown (in %) and CSV (one line per cell) of a paper-layout table. */
export function formatPaperTable(t: PaperTable): { markdown: string; csv: string } {
  const markdown = [
    `### ${t.title}`,
    '',
    `${t.caption} Shown in %.`,
    '',
    `| model | ${t.columns.join(' | ')} |`,
    `|---|${t.columns.map(() => '---:').join('|')}|`,
    ...t.rows.map((r) => `| ${r.name} | ${r.cells.map((v, i) => (v === null ? '—' : percentCell(v, r.spread?.[i]))).join(' | ')} |`),
    '',
  ].join('\n');
  const spread = (r: PaperTable['rows'][number], i: number): string[] => (t.seeds === undefined ? [] : spreadFields(r.spread?.[i]));
  const csv =
    [
      `protocol,model,column,value${t.seeds === undefined ? '' : SPREAD_CSV_HEAD}`,
      ...t.rows.flatMap((r) => r.cells.map((v, i) => [t.protocol, r.name, t.columns[i], v ?? '', ...spread(r, i)].join(','))),
    ].join('\n') + '\n';
  return { markdown, csv };
}
