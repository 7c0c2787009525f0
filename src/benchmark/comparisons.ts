/**
 * The paired comparisons of a benchmark (statistics.ts): for two models tested on the same test
 * set, the difference in each headline metric, its 95 % interval from the paired bootstrap over
 * test videos and seeds, and the share of resamples whose sign flips. The units come from the
 * runs' own test-metrics.json (protocols.ts), so a comparison reads finished run folders and
 * trains nothing. Prints nothing.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { HEADLINE_METRICS, headlineMetric, type HeadlineMetric, type VideoUnit } from '../eval/units.js';
import { BenchmarkCompareError } from './errors.js';
import { comparisonSentence, pairedBootstrap, type PairedComparison } from './statistics.js';

/** One line of the paired table: model `a` − model `b` on one test set in one metric. */
export interface ComparisonRow {
  readonly a: string;
  readonly b: string;
  readonly testSet: string;
  readonly metric: HeadlineMetric;
  readonly comparison: PairedComparison;
}

/**
 * What a comparison reads of a protocol table (protocols.ts `ProtocolTable`, results.json): its
 * rows' test sets and the run folder of every seed (written out here: protocols.ts imports this module).
 */
export interface ComparedTable {
  readonly protocol: string;
  readonly rows: ReadonlyArray<{
    readonly name: string;
    readonly cells: { readonly ACC: { readonly run: string; readonly spread?: { readonly perSeed: ReadonlyArray<{ readonly run: string }> } } | null };
  }>;
}

/** A model's runs of one protocol: its table (results.json), whose cells name the run folder of every seed. */
export interface ModelRuns {
  readonly name: string;
  readonly table: ComparedTable;
  /** names the held-out test sets of leave-one-out apart across compressions (`held-out Deepfakes c23`) */
  readonly compression?: string;
}

export interface CompareOptions {
  /** bootstrap resamples (default 2000) */
  readonly resamples?: number;
  /** seed of the resampling (default 0) */
  readonly seed?: number;
}

/** The run folders of each test set of a protocol table (the Average row of leave-one-out is no test set). */
function testSetRuns({ table, compression }: ModelRuns): Array<{ readonly testSet: string; readonly runs: readonly string[] }> {
  return table.rows
    .filter((r) => r.name !== 'Average' && r.cells.ACC !== null)
    .map((r) => ({
      testSet: table.protocol === 'leave-one-out' ? `held-out ${r.name}${compression === undefined ? '' : ` ${compression}`}` : r.name,
      runs: r.cells.ACC!.spread?.perSeed.map((p) => p.run) ?? [r.cells.ACC!.run],
    }));
}

/** The per-video units a run's test recorded. */
export async function runUnits(run: string): Promise<readonly VideoUnit[]> {
  const path = join(run, 'test-metrics.json');
  if (!existsSync(path))
    throw new BenchmarkCompareError(`${run} holds no test-metrics.json`, 'finish the run (rerun the same benchmark command) before comparing it');
  const { units } = JSON.parse(await readFile(path, 'utf8')) as { units?: VideoUnit[] };
  if (units === undefined)
    throw new BenchmarkCompareError(
      `${path} was tested before per-video units were recorded`,
      'rerun the same benchmark command: it tests the finished run again from its checkpoint, without training',
    );
  return units;
}

/**
 * `a` − `b` on every test set both were tested on, in each headline metric: the runs of a test
 * set must hold the same videos (the pairing); each resample keeps the real/fake video counts
 * (strata by label) so that every AUC stays defined.
 */
export async function compareModels(a: ModelRuns, b: ModelRuns, o: CompareOptions = {}): Promise<ComparisonRow[]> {
  const rows: ComparisonRow[] = [];
  const bSets = new Map(testSetRuns(b).map((t) => [t.testSet, t.runs]));
  for (const { testSet, runs } of testSetRuns(a)) {
    const bRuns = bSets.get(testSet);
    if (bRuns === undefined) continue;
    const unitsA = await Promise.all(runs.map(runUnits));
    const unitsB = await Promise.all(bRuns.map(runUnits));
    const videos = unitsA[0]!.map((u) => u.video);
    for (const [k, units] of [...unitsA, ...unitsB].entries()) {
      const run = [...runs, ...bRuns][k]!;
      if (units.length !== videos.length || units.some((u, i) => u.video !== videos[i]))
        throw new BenchmarkCompareError(`${run} was tested on other videos than ${runs[0]} (${testSet})`, 'compare runs of the same test set');
    }
    for (const metric of HEADLINE_METRICS) {
      const comparison = pairedBootstrap({
        a: unitsA,
        b: unitsB,
        metric: (units) => headlineMetric(metric, units),
        strata: unitsA[0]!.map((u) => u.label),
        resamples: o.resamples,
        seed: o.seed,
      });
      rows.push({ a: a.name, b: b.name, testSet, metric, comparison });
    }
  }
  return rows;
}

/**
 * The comparisons a report shows: the reference (MSCCNet) against every other model (Base.
 * included), each model's tables in the order given; none without the reference.
 */
export async function referenceComparisons(models: readonly ModelRuns[], reference: string, o: CompareOptions = {}): Promise<ComparisonRow[]> {
  const ref = models.find((m) => m.name === reference);
  if (ref === undefined) return [];
  const rows: ComparisonRow[] = [];
  for (const m of models) if (m.name !== reference) rows.push(...(await compareModels(ref, m, o)));
  return rows;
}

/** A finished benchmark row's protocol tables (`<out>/<row>/<compression>/<protocol>/results.json`), one per compression found. */
export async function benchmarkModelRuns(out: string, row: string, protocol: string): Promise<ModelRuns[]> {
  const dir = resolve(out, row);
  if (!existsSync(dir)) throw new BenchmarkCompareError(`${dir} does not exist`, `run the benchmark with row '${row}' into ${out} first, or check --out`);
  const tables: ModelRuns[] = [];
  for (const compression of (await readdir(dir)).sort()) {
    const path = join(dir, compression, protocol, 'results.json');
    if (existsSync(path)) tables.push({ name: row, compression, table: JSON.parse(await readFile(path, 'utf8')) as ComparedTable });
  }
  if (tables.length === 0)
    throw new BenchmarkCompareError(`${dir} holds no finished ${protocol} table`, `run benchmark --protocol ${protocol} with row '${row}' first`);
  return tables;
}

/** How a comparison row reads in a table: points with sign, the interval, the sign flips. */
const pts = (x: number): string => (Number.isNaN(x) ? '—' : `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(100 * x).toFixed(2)}`);

/** The paired table in Markdown (differences in percentage points), and one generated sentence per comparison. */
export function formatComparisons(rows: readonly ComparisonRow[], nameOf: (model: string) => string = (m) => m): { markdown: string; sentences: string[] } {
  if (rows.length === 0) return { markdown: '', sentences: [] };
  const c0 = rows[0]!.comparison;
  const level = `${Math.round(100 * c0.level)} %`;
  const markdown = [
    '### Paired comparisons',
    '',
    `Differences in percentage points; ${level} percentile intervals of a paired bootstrap (${c0.resamples} resamples) that draws test videos (within real and fake) and seeds; sign flips: the share of resamples whose difference has the other sign. An interval that excludes 0 is significant at ${level}.`,
    '',
    `| comparison | test set | metric | difference | ${level} interval | sign flips | videos | seeds |`,
    '|---|---|---|---:|---:|---:|---:|---:|',
    ...rows.map(({ a, b, testSet, metric, comparison: c }) => {
      const seeds = c.seedsB === undefined ? String(c.seeds) : `${c.seeds} / ${c.seedsB}`;
      const flips = Number.isNaN(c.signFlips) ? '—' : `${(100 * c.signFlips).toFixed(1)} %`;
      return `| ${nameOf(a)} − ${nameOf(b)} | ${testSet} | ${metric} | ${pts(c.difference)} | [${pts(c.low)}, ${pts(c.high)}] | ${flips} | ${c.videos} | ${seeds} |`;
    }),
    '',
  ].join('\n');
  const sentences = rows.map((r) => comparisonSentence(nameOf(r.a), nameOf(r.b), r.testSet, r.metric, r.comparison));
  return { markdown, sentences };
}
