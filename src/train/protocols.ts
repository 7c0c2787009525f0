/**
 * The paper's protocols as runs of `train` plus an official evaluation (paper §5.1–§5.2):
 * intra-dataset (Table 2: FF++ at one compression), cross-dataset (Table 3: FF++ C40 → another
 * test set such as DEFACTO) and leave-one-manipulation-out (Table 4: five runs and their
 * average). Each table cell names the run folder that produced it. Prints nothing.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EvaluationResult } from '../eval/index.js';
import { listCheckpoints, loadCheckpoint } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { SamplePool } from './loader.js';
import { buildModel, plannedSteps, train, validate, type TrainEvent } from './trainer.js';
import { resolveDevice } from '../torch/device.js';

export const PROTOCOLS = ['intra', 'cross-dataset', 'leave-one-out'] as const;
export type Protocol = (typeof PROTOCOLS)[number];
export const METRICS = ['ACC', 'AUC', 'F1', 'mIoU'] as const;
export type Metric = (typeof METRICS)[number];

export interface Cell { readonly value: number; readonly run: string }
export interface TableRow { readonly name: string; readonly cells: Readonly<Record<Metric, Cell | null>> }
export interface ProtocolTable {
  readonly protocol: Protocol;
  readonly title: string;
  /** what the columns were measured on, e.g. `FF++ c40 → test` */
  readonly setting: string;
  readonly augment: string;
  readonly rows: readonly TableRow[];
}

export interface ProtocolOptions {
  readonly outDir: string;
  /** cross-dataset: the test manifest (e.g. DEFACTO from `msccnet dataset defacto`) and its split / compression */
  readonly testManifest?: string;
  readonly testSplit?: string;
  readonly testCompression?: string;
  readonly onEvent?: (e: ProtocolEvent) => void;
  readonly signal?: AbortSignal;
}

/** A training event of one run (named by its table row), or that run's test result. */
export type ProtocolEvent =
  | { readonly run: string; readonly event: TrainEvent }
  | { readonly run: string; readonly event: { kind: 'tested'; metrics: EvaluationResult['official'] } };

interface RunPlan { readonly name: string; readonly train: TrainConfig; readonly test: TrainConfig }

function plans(protocol: Protocol, base: TrainConfig, o: ProtocolOptions): RunPlan[] {
  const runDir = (name: string): string => resolve(o.outDir, protocol, name);
  const withRun = (c: TrainConfig, name: string): TrainConfig => ({ ...c, run: { ...c.run, dir: runDir(name) } });
  switch (protocol) {
    case 'intra': {
      const c = withRun(base, `ffpp-${base.data.compression}`);
      return [{ name: `FF++ ${base.data.compression}`, train: c, test: c }];
    }
    case 'cross-dataset': {
      const c = withRun({ ...base, data: { ...base.data, compression: 'c40' } }, 'ffpp-c40');
      const test: TrainConfig = {
        ...c, data: { ...c.data, manifest: o.testManifest ?? c.data.manifest, root: o.testManifest ? null : c.data.root,
          testSplit: o.testSplit ?? c.data.testSplit, compression: o.testCompression ?? c.data.compression },
      };
      return [{ name: 'FF++ c40 → test set', train: c, test }];
    }
    case 'leave-one-out':
      return base.data.methods.map((held) => {
        const trainC = withRun({ ...base, data: { ...base.data, methods: base.data.methods.filter((m) => m !== held) } }, `without-${held}`);
        return { name: held, train: trainC, test: { ...trainC, data: { ...trainC.data, methods: [held] } } };
      });
  }
}

async function trainOrResume(c: TrainConfig, o: ProtocolOptions, run: string): Promise<string> {
  const ckpts = join(c.run.dir, 'checkpoints');
  const resume = (await listCheckpoints(ckpts)).length > 0;
  await train(c, { resume, signal: o.signal, onEvent: (event) => o.onEvent?.({ run, event }) });
  const best = join(ckpts, 'best');
  const last = (await listCheckpoints(ckpts)).at(-1);
  return existsSync(best) ? best : last!;
}

async function test(plan: RunPlan, checkpoint: string): Promise<EvaluationResult> {
  const model = await buildModel(plan.test);
  await loadCheckpoint(checkpoint, model, null);
  model.to(resolveDevice(plan.test.device));              // validate() runs wherever the model is
  const pool = await SamplePool.create(plan.test.data.workers);
  try {
    return await validate(model, plan.test, pool, null, undefined, plan.test.data.testSplit);
  } finally {
    await pool.close();
    model.dispose();
  }
}

/** Optimiser steps of every training run of a protocol (a progress total known before the first run starts). */
export async function protocolSteps(protocol: Protocol, base: TrainConfig, o: ProtocolOptions): Promise<number> {
  let steps = 0;
  for (const plan of plans(protocol, base, o)) steps += await plannedSteps(plan.train);
  return steps;
}

/** Runs (or resumes) every training of a protocol, tests each, writes results.{json,csv,md}. */
export async function runProtocol(protocol: Protocol, base: TrainConfig, o: ProtocolOptions): Promise<ProtocolTable> {
  const rows: TableRow[] = [];
  for (const plan of plans(protocol, base, o)) {
    const checkpoint = await trainOrResume(plan.train, o, plan.name);
    const result = await test(plan, checkpoint);
    await writeFile(join(plan.train.run.dir, 'test-metrics.json'), `${JSON.stringify({ checkpoint, split: plan.test.data.testSplit, ...result }, null, 2)}\n`);
    o.onEvent?.({ run: plan.name, event: { kind: 'tested', metrics: result.official } });
    const cells = Object.fromEntries(METRICS.map((m) => [m, { value: result.official[m], run: plan.train.run.dir }])) as Record<Metric, Cell>;
    rows.push({ name: plan.name, cells });
  }
  if (protocol === 'leave-one-out' && rows.length > 1) {
    rows.push({ name: 'Average', cells: Object.fromEntries(METRICS.map((m) => [m, {
      value: rows.reduce((s, r) => s + r.cells[m]!.value, 0) / rows.length, run: resolve(o.outDir, protocol),
    }])) as Record<Metric, Cell> });
  }
  const table: ProtocolTable = {
    protocol,
    title: { intra: 'Table 2: intra-dataset (FF++)', 'cross-dataset': 'Table 3: cross-dataset (train FF++ c40)', 'leave-one-out': 'Table 4: leave one manipulation out' }[protocol],
    setting: `${base.data.compression}, test split '${o.testSplit ?? base.data.testSplit}'`,
    augment: base.data.augment,
    rows,
  };
  await writeTables(resolve(o.outDir, protocol), table);
  return table;
}

/** Markdown (paper layout, %), CSV (one cell per line with its run) and JSON of a table. */
export function formatTables(t: ProtocolTable): { markdown: string; csv: string; json: string } {
  const pct = (c: Cell | null): string => (c === null || Number.isNaN(c.value) ? '—' : (100 * c.value).toFixed(2));
  const head = t.protocol === 'leave-one-out' ? 'held-out manipulation' : 'training → test';
  const markdown = [
    `### ${t.title}`, '', `Setting: ${t.setting}; augmentation preset \`${t.augment}\`; metrics: official definitions (%, official-spec §10).`, '',
    `| ${head} | ${METRICS.join(' | ')} |`, `|---|${METRICS.map(() => '---:').join('|')}|`,
    ...t.rows.map((r) => `| ${r.name} | ${METRICS.map((m) => pct(r.cells[m])).join(' | ')} |`), '',
    'Runs:', ...t.rows.filter((r) => r.name !== 'Average').map((r) => `- ${r.name}: \`${r.cells.ACC?.run ?? ''}\``), '',
  ].join('\n');
  const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const csv = ['protocol,row,metric,value,run', ...t.rows.flatMap((r) => METRICS.map((m) => [t.protocol, r.name, m, String(r.cells[m]?.value ?? ''), r.cells[m]?.run ?? ''].map(csvField).join(',')))].join('\n') + '\n';
  return { markdown, csv, json: `${JSON.stringify(t, null, 2)}\n` };
}

async function writeTables(dir: string, t: ProtocolTable): Promise<void> {
  await mkdir(dir, { recursive: true });
  const f = formatTables(t);
  await writeFile(join(dir, 'results.md'), f.markdown);
  await writeFile(join(dir, 'results.csv'), f.csv);
  await writeFile(join(dir, 'results.json'), f.json);
}
