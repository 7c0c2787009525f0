/**
 * The demo's tables as plain data, laid out like the paper's (Tables 1, 2, 4, 6), from which the
 * HTML, Markdown and JSON reports are all rendered: the three can only agree.
 */
import type { SplitStats } from '../../data/manifest.js';
import { problemLine } from '../../errors.js';
import { DEMO_BASELINE_NOTES, DEMO_METHODS, DEMO_MODELS, methodLabel, MODEL_NAMES, type DemoBaseline, type DemoRow } from '../plan.js';
import type { DemoResult } from '../result.js';
import { METRICS, type Cell, type ProtocolTable } from '../../benchmark/protocols.js';
import { formatComparisons } from '../../benchmark/comparisons.js';

/** A mean over seeds with its sample std, n and the per-seed values (in the table's unit). */
export interface SeedCell {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
  readonly perSeed: readonly number[];
}
/** A cell: a number (percent with 2 decimals, or a count), a mean ± std over seeds, a mark such as ✓, or null (not measured). */
export type CellValue = number | SeedCell | string | null;

export interface ReportTable {
  readonly id: 'table1' | 'table2' | 'table4' | 'table6' | 'paired' | 'robustness' | 'stages' | 'detect';
  readonly title: string;
  readonly caption: string;
  /** `percent`: numbers are % in [0, 100]; `count`: integers; `mixed`: units in the column names */
  readonly unit: 'percent' | 'count' | 'mixed';
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<{ readonly name: string; readonly cells: readonly CellValue[] }>;
}

const pct = (v: number): number => Math.round(v * 10000) / 100;
const secs = (v: number): number => Math.round(v * 10) / 10;

/** How a cell is written in every format. */
export function formatCell(v: CellValue): string {
  if (v === null) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return `${v.mean.toFixed(2)} ± ${v.std.toFixed(2)}`;
  return Number.isInteger(v) ? String(v) : v.toFixed(v >= 100 || v <= -100 ? 1 : 2);
}

function table1(stats: readonly SplitStats[]): ReportTable {
  const methods = Object.keys(DEMO_METHODS);
  return {
    id: 'table1',
    title: 'Table 1: crops of the miniature benchmark',
    unit: 'count',
    caption:
      'Face crops per split and compression (paper Table 1 layout). Every fake column is a synthetic manipulation in the FF++ method folder named in brackets. ' +
      'Real = distinct real crops; total counts each real once per fake for train (as the reference trains) and once for val/test.',
    columns: [...methods.map(methodLabel), 'real', 'total'],
    rows: stats.flatMap((s) =>
      s.splits.map((split) => ({
        name: `${s.compression} ${split}`,
        cells: [...methods.map((m) => s.fakes[m]?.[split] ?? 0), s.distinctReals[split] ?? 0, s.total[split] ?? 0],
      })),
    ),
  };
}

/** A protocol cell in %: its value, or over more than one seed the mean ± std with every seed's value. */
function percentCell(c: Cell): number | SeedCell {
  if (c.spread === undefined || c.spread.n < 2) return pct(c.value);
  return { mean: pct(c.value), std: pct(c.spread.std), n: c.spread.n, perSeed: c.spread.perSeed.map((p) => pct(p.value)) };
}

/** A row's four metrics in %; a model without the table (a failed baseline) has — cells. */
function metricCells(t: ProtocolTable | undefined, row: number): (number | SeedCell | null)[] {
  return METRICS.map((m) => (t === undefined ? null : percentCell(t.rows[row]!.cells[m]!)));
}

/** The number a cell stands for (a seed cell's mean). */
export const cellNumber = (c: CellValue): number => (typeof c === 'number' ? c : c !== null && typeof c === 'object' ? c.mean : Number.NaN);

/** The compressions of Table 2, side by side in the paper's order. */
export const TABLE2_COMPRESSIONS = ['c40', 'c23'] as const;

/** Every model of the run in table order: Base., MSCCNet, then the baselines in the paper's order. */
export function demoRows(r: DemoResult): DemoRow[] {
  return [...DEMO_MODELS, ...r.baselines];
}

/** The baselines that trained and tested (every baseline of the run but the failed ones). */
export function trainedBaselines(r: DemoResult): DemoBaseline[] {
  return r.baselines.filter((b) => !r.failed.some((f) => f.row === b));
}

/** What the captions say about the baselines of a run (empty without any): what they are, and why a failed one has — cells. */
function baselineNote(r: DemoResult): string {
  if (r.baselines.length === 0) return '';
  const notes = r.baselines.flatMap((b) => (DEMO_BASELINE_NOTES[b] !== undefined ? [` ${DEMO_BASELINE_NOTES[b]}.`] : [])).join('');
  const failures = r.failed.map((f) => ` ${MODEL_NAMES[f.row as DemoBaseline]} failed (its cells are —): ${f.error.code}: ${problemLine(f.error.problem)}.`);
  return (
    ` ${r.baselines.map((b) => MODEL_NAMES[b]).join(', ')}: the benchmark's other methods (\`--methods\`), each at its official model defaults (unless said below) and the same crop side, data, ` +
    `batch, steps and optimiser as MSCCNet, from random initialisation.${notes}${failures.join('')}`
  );
}

/** The captions' sentence on seeds: how many each model trained, and what a ± cell is. */
export function seedsNote(r: DemoResult): string {
  const { models, baselines } = r.seeds;
  const list = (s: readonly number[]): string => `${s.length} seed${s.length === 1 ? '' : 's'} (${s.join(', ')})`;
  const others = r.baselines.length > 0 ? `; the baselines ${list(baselines)}` : '';
  return ` Base. and MSCCNet trained ${list(models)}${others}: a cell of several seeds is the mean ± the sample std over seeds.`;
}

function table2(r: DemoResult): ReportTable {
  // the paper's layout: C40 | C23 column groups; the demo trains one of them, the other group stays empty
  const group = (cells: readonly CellValue[]): CellValue[] =>
    TABLE2_COMPRESSIONS.flatMap((c): CellValue[] => (c === r.plan.compression ? [...cells] : METRICS.map(() => null)));
  const other = TABLE2_COMPRESSIONS.filter((c) => c !== r.plan.compression).join(', ');
  return {
    id: 'table2',
    title: 'Table 2: intra-dataset (train and test at each compression)',
    unit: 'percent',
    caption:
      'Image-level ACC and AUC, pixel-level F1 and mIoU (official definitions: one global confusion matrix, averaged over the real and fake classes), in %, ' +
      `on the test split (clips of a video never used in training), in the paper's layout. The demo trains at ${r.plan.compression} only; the ${other} columns ` +
      'would take another pair of runs (`msccnet benchmark --protocol intra --compressions c40,c23 --variants base,msccnet`). ' +
      `The all-real row is the constant predictor "every image and pixel real" on the same test set.${seedsNote(r)}${baselineNote(r)}`,
    columns: TABLE2_COMPRESSIONS.flatMap((c) => METRICS.map((m) => `${c} ${m}`)),
    rows: [
      { name: 'all-real predictor', cells: group(METRICS.map((m) => pct(r.allReal[m]))) },
      ...demoRows(r).map((model) => ({ name: MODEL_NAMES[model], cells: group(metricCells(r.intra[model], 0)) })),
    ],
  };
}

function robustness(r: DemoResult): ReportTable {
  return {
    id: 'robustness',
    title: 'Robustness: MSCCNet (small) on perturbed test crops',
    unit: 'percent',
    caption:
      `The ONNX MSCCNet on the ${r.robustness[0]?.result.counts.images ?? 0} Fig. 4 test crops (one per synthetic manipulation and a real), clean and after each perturbation ` +
      '(`msccnet evaluate --perturb`: JPEG re-encoding at a quality, Gaussian blur of a kernel size, Gaussian noise of a σ, down- and up-scaling by a factor). ' +
      'Official metrics in %; a handful of crops, so a sanity check of the sweep, not a measurement.',
    columns: [...METRICS],
    rows: r.robustness.map((c) => ({
      name: c.name,
      cells: [c.result.official.ACC, c.result.official.AUC, c.result.official.F1, c.result.official.mIoU].map(pct),
    })),
  };
}

function table4(r: DemoResult): ReportTable {
  const rows = r.leaveOneOut.msccnet.rows;
  return {
    id: 'table4',
    title: 'Table 4: leave one manipulation out',
    unit: 'percent',
    caption:
      'Each row trains on the other four synthetic manipulations and tests on the held-out one (its fakes plus all test reals); metrics in %. ' +
      `The first column is the pixel mIoU of the constant "all real" predictor on that row's test set.${seedsNote(r)} The average row averages each seed over the held-out manipulations first.${baselineNote(r)}`,
    columns: ['all-real mIoU', ...demoRows(r).flatMap((model) => METRICS.map((m) => `${MODEL_NAMES[model]} ${m}`))],
    rows: rows.map((row, i) => ({
      name: row.name === 'Average' ? 'average' : methodLabel(row.name),
      cells: [
        row.name === 'Average' ? headline(r).looAllRealMIoU : pct(r.leaveOneOutAllReal[i]!),
        ...demoRows(r).flatMap((model) => metricCells(r.leaveOneOut[model], i)),
      ],
    })),
  };
}

function table6(r: DemoResult): ReportTable {
  return {
    id: 'table6',
    title: 'Table 6 (ablation rows): Base. and Base. + MFA + MSCC',
    unit: 'percent',
    caption:
      `Intra-dataset ${r.plan.compression} test metrics in %. Base. = backbone + bottleneck + decoder + image head; the full model adds MFA and MSCC. ` +
      "The paper's two middle rows (Base. + MFA, Base. + MSCC) are not trained by the demo.",
    columns: ['MFA', 'MSCC', ...METRICS],
    rows: [
      { name: MODEL_NAMES.base, cells: ['–', '–', ...metricCells(r.intra.base, 0)] },
      { name: MODEL_NAMES.msccnet, cells: ['✓', '✓', ...metricCells(r.intra.msccnet, 0)] },
    ],
  };
}

function stages(r: DemoResult): ReportTable {
  const entries = Object.entries(r.stageSeconds) as Array<[string, number]>;
  return {
    id: 'stages',
    title: 'Stages and their wall time',
    unit: 'mixed',
    caption: 'Seconds per stage of this run.',
    columns: ['seconds'],
    rows: [
      ...entries.map(([stage, s]) => ({ name: stage, cells: [secs(s)] })),
      { name: 'total (before the report)', cells: [secs(entries.reduce((a, [, s]) => a + s, 0))] },
    ],
  };
}

function detect(r: DemoResult): ReportTable {
  return {
    id: 'detect',
    title: '`msccnet detect` on held-out videos (ONNX export of the MSCCNet)',
    unit: 'mixed',
    caption: `Test-split videos at ${r.plan.compression}: face found by the detector, crop, ONNX model; P(fake) = mean over ${r.plan.detectFrames} sampled frame(s).`,
    columns: ['truth', 'P(fake) %', 'label', 'frames with a face'],
    rows: r.detect.map(({ truth, result: d }) => {
      const name = d.input.split('/').slice(-4).join('/');
      const label = truth === 'real' ? 'real' : methodLabel(truth);
      if (!d.ok) return { name, cells: [label, null, `failed: ${d.error.message}`, null] };
      return { name, cells: [label, pct(d.score), d.label, d.kind === 'video' ? d.frames.length : 1] };
    }),
  };
}

/** A difference in percentage points with its sign. */
const points = (x: number): string => (Number.isNaN(x) ? '—' : `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(100 * x).toFixed(2)}`);

/** The paired table of the intra test set: MSCCNet − each other model in each headline metric. */
function paired(r: DemoResult): ReportTable {
  const c0 = r.comparisons.intra[0]?.comparison;
  return {
    id: 'paired',
    title: `Paired comparisons on the intra-dataset test set (${r.plan.compression})`,
    unit: 'mixed',
    caption:
      `Differences in percentage points, MSCCNet minus each model; 95 % percentile interval of a paired bootstrap (${c0?.resamples ?? 0} resamples) that draws the test videos ` +
      `(${c0?.videos ?? 0}; reals and fakes apart, one draw shared by both models, since frames of one video are not independent) and the training seeds, ` +
      'recomputing each metric on the drawn videos; sign flips: the share of resamples whose difference has the other sign. An interval that excludes 0 is significant at 95 %. ' +
      'The comparisons on each held-out manipulation are in report.json (comparisons.leaveOneOut).',
    columns: ['metric', 'difference (points)', '95 % interval', 'sign flips', 'seeds'],
    rows: r.comparisons.intra.map(({ a, b, metric, comparison: c }) => ({
      name: `${MODEL_NAMES[a as DemoRow]} − ${MODEL_NAMES[b as DemoRow]}`,
      cells: [
        metric,
        points(c.difference),
        Number.isNaN(c.low) ? '—' : `[${points(c.low)}, ${points(c.high)}]`,
        Number.isNaN(c.signFlips) ? '—' : `${(100 * c.signFlips).toFixed(1)} %`,
        c.seedsB === undefined ? `${c.seeds}` : `${c.seeds} / ${c.seedsB}`,
      ],
    })),
  };
}

export function reportTables(r: DemoResult): ReportTable[] {
  return [table1(r.stats), table2(r), table4(r), table6(r), paired(r), robustness(r), detect(r), stages(r)];
}

/** One generated sentence per comparison on the intra test set (statistics.ts `comparisonSentence`). */
export function sentences(r: DemoResult): string[] {
  const rows = r.comparisons.intra.map((c) => ({ ...c, testSet: `the ${r.plan.compression} test set` }));
  return formatComparisons(rows, (m) => MODEL_NAMES[m as DemoRow]).sentences;
}

/** The headline comparisons the report states in words (pixel mIoU, percentage points). */
export interface Headline {
  readonly msccnetMIoU: number;
  readonly baseMIoU: number;
  readonly allRealMIoU: number;
  /** MSCCNet − all-real, and MSCCNet − Base., intra test set */
  readonly overAllReal: number;
  readonly overBase: number;
  /** leave-one-out averages */
  readonly looMsccnetMIoU: number;
  readonly looBaseMIoU: number;
  readonly looAllRealMIoU: number;
  /** sample std over seeds of the four means above (0 with one seed), and the seeds */
  readonly std: { readonly msccnetMIoU: number; readonly baseMIoU: number; readonly looMsccnetMIoU: number; readonly looBaseMIoU: number };
  readonly seeds: number;
  /** MSCCNet − Base. pixel mIoU on the intra test set: the 95 % interval in points (null without the comparison) */
  readonly overBaseInterval: readonly [low: number, high: number] | null;
}

export function headline(r: DemoResult): Headline {
  const m = (t: ProtocolTable, row: number): number => pct(t.rows[row]!.cells.mIoU!.value);
  const msccnetMIoU = m(r.intra.msccnet, 0);
  const baseMIoU = m(r.intra.base, 0);
  const allRealMIoU = pct(r.allReal.mIoU);
  const avg = (t: ProtocolTable): number => m(t, t.rows.length - 1);
  const sd = (t: ProtocolTable, row: number): number => pct(t.rows[row]!.cells.mIoU!.spread?.std ?? 0);
  const vsBase = r.comparisons.intra.find((c) => c.b === 'base' && c.metric === 'pixel mIoU')?.comparison;
  return {
    msccnetMIoU,
    baseMIoU,
    allRealMIoU,
    overAllReal: Math.round((msccnetMIoU - allRealMIoU) * 100) / 100,
    overBase: Math.round((msccnetMIoU - baseMIoU) * 100) / 100,
    looMsccnetMIoU: avg(r.leaveOneOut.msccnet),
    looBaseMIoU: avg(r.leaveOneOut.base),
    looAllRealMIoU: pct(r.leaveOneOutAllReal.reduce((a, v) => a + v, 0) / r.leaveOneOutAllReal.length),
    std: {
      msccnetMIoU: sd(r.intra.msccnet, 0),
      baseMIoU: sd(r.intra.base, 0),
      looMsccnetMIoU: sd(r.leaveOneOut.msccnet, r.leaveOneOut.msccnet.rows.length - 1),
      looBaseMIoU: sd(r.leaveOneOut.base, r.leaveOneOut.base.rows.length - 1),
    },
    seeds: r.seeds.models.length,
    overBaseInterval: vsBase === undefined || Number.isNaN(vsBase.low) ? null : [pct(vsBase.low), pct(vsBase.high)],
  };
}
