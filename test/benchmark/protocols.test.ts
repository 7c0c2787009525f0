import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatPaperTable,
  formatTables,
  methodRunConfig,
  paperTable,
  runBenchmark,
  variantRunConfig,
  type BenchmarkReport,
  type ProtocolTable,
} from '../../src/benchmark/protocols.js';
import { applyVariant, parseTrainConfig } from '../../src/train/config.js';
import type { FailedRow } from '../../src/benchmark/errors.js';
import { variantNames } from '../../src/models/index.js';
import { oneStepBenchmarkConfig, writeSyntheticSet } from '../train/synthetic.js';

test('protocol tables: paper layout in %, every cell traceable to its run folder in the CSV', () => {
  const cell = (value: number, run: string) => ({ value, run });
  const t: ProtocolTable = {
    protocol: 'leave-one-out',
    title: 'Table 4: leave one manipulation out',
    setting: 'c40',
    augment: 'official',
    rows: [
      { name: 'Deepfakes', cells: { ACC: cell(0.9, '/r/a'), AUC: cell(0.95, '/r/a'), F1: cell(0.8, '/r/a'), mIoU: cell(0.7, '/r/a') } },
      { name: 'Average', cells: { ACC: cell(0.9, '/r'), AUC: cell(0.95, '/r'), F1: cell(0.8, '/r'), mIoU: cell(0.7, '/r') } },
    ],
  };
  const f = formatTables(t);
  assert.match(f.markdown, /\| held-out manipulation \| ACC \| AUC \| F1 \| mIoU \|/);
  assert.match(f.markdown, /\| Deepfakes \| 90\.00 \| 95\.00 \| 80\.00 \| 70\.00 \|/);
  assert.match(f.markdown, /- Deepfakes: `\/r\/a`/);
  const lines = f.csv.trim().split('\n');
  assert.equal(lines[0], 'protocol,row,metric,value,run');
  assert.equal(lines.length, 1 + 2 * 4);
  assert.equal(lines[1], 'leave-one-out,Deepfakes,ACC,0.9,/r/a');
  assert.deepEqual(JSON.parse(f.json), t);
});

test('paper layouts: Table 2 puts c40 | c23 side by side per variant; Table 4 gives F1/mIoU then ACC/AUC per held-out manipulation and the average', () => {
  const row = (name: string, v: number) => ({
    name,
    cells: { ACC: { value: v, run: 'r' }, AUC: { value: v + 0.01, run: 'r' }, F1: { value: v + 0.02, run: 'r' }, mIoU: { value: v + 0.03, run: 'r' } },
  });
  const table = (protocol: ProtocolTable['protocol'], rows: ProtocolTable['rows']): ProtocolTable => ({
    protocol,
    title: '',
    setting: '',
    augment: 'official',
    rows,
  });
  const t2 = paperTable('intra', [
    { row: 'base', method: 'msccnet', compression: 'c23', table: table('intra', [row('FF++ c23', 0.5)]) },
    { row: 'base', method: 'msccnet', compression: 'c40', table: table('intra', [row('FF++ c40', 0.4)]) },
    { row: 'msccnet', method: 'msccnet', compression: 'c40', table: table('intra', [row('FF++ c40', 0.6)]) },
    { row: 'msccnet', method: 'msccnet', compression: 'c23', table: table('intra', [row('FF++ c23', 0.7)]) },
  ]);
  assert.deepEqual(t2.columns, ['c40 ACC', 'c40 AUC', 'c40 F1', 'c40 mIoU', 'c23 ACC', 'c23 AUC', 'c23 F1', 'c23 mIoU']);
  assert.deepEqual(
    t2.rows.map((r) => r.name),
    ['base', 'msccnet'],
  );
  assert.deepEqual(
    t2.rows[1]!.cells.map((v) => Math.round(v! * 100)),
    [60, 61, 62, 63, 70, 71, 72, 73],
  );
  assert.match(formatPaperTable(t2).markdown, /\| msccnet \| 60\.00 \| 61\.00 \| 62\.00 \| 63\.00 \| 70\.00 \| 71\.00 \| 72\.00 \| 73\.00 \|/);

  const t4 = paperTable('leave-one-out', [
    {
      row: 'msccnet',
      method: 'msccnet',
      compression: 'c40',
      table: table('leave-one-out', [row('Deepfakes', 0.1), row('FaceSwap', 0.2), row('Average', 0.15)]),
    },
  ]);
  assert.deepEqual(t4.columns, [
    'Deepfakes F1',
    'Deepfakes mIoU',
    'FaceSwap F1',
    'FaceSwap mIoU',
    'Average F1',
    'Average mIoU',
    'Deepfakes ACC',
    'Deepfakes AUC',
    'FaceSwap ACC',
    'FaceSwap AUC',
    'Average ACC',
    'Average AUC',
  ]);
  assert.deepEqual(
    t4.rows[0]!.cells.map((v) => Math.round(v! * 100)),
    [12, 13, 22, 23, 17, 18, 10, 11, 20, 21, 15, 16],
  );
});

test("a variant name sets its model fields over the config's (train --variant, benchmark --variants)", () => {
  const raw = applyVariant({ model: { inputSize: 64, mfa: true }, batchSize: 2 }, 'base');
  assert.deepEqual(raw, { model: { inputSize: 64, mfa: false, mscc: false }, batchSize: 2 });
  const c = variantRunConfig({ data: { manifest: 'm.jsonl' }, model: { inputSize: 64 } }, 'no-gcn', 'c23');
  assert.deepEqual([c.model.gcn, c.model.inputSize, c.data.compression], [false, 64, 'c23']);
  const b = variantRunConfig({ data: { manifest: 'm.jsonl' } }, 'base', 'c40'); // auxLoss follows mscc: off
  assert.deepEqual([b.model.mscc, b.model.auxLoss], [false, false]);
  assert.throws(() => applyVariant({}, 'no-such'), /no-such/);
});

test("a run's saved config (auxLoss resolved to true) takes every variant: the ones without MSCC turn the aux loss off", () => {
  const saved: unknown = JSON.parse(JSON.stringify(parseTrainConfig({ data: { manifest: 'm.jsonl' }, model: { inputSize: 64 } })));
  assert.equal((saved as { model: { auxLoss: boolean } }).model.auxLoss, true);
  for (const variant of variantNames()) {
    const c = variantRunConfig(saved, variant, 'c23');
    assert.equal(c.model.auxLoss, c.model.mscc && variant !== 'no-aux-loss', variant);
  }
});

test(
  "benchmark --methods: one row per method at the protocol's crop side; a failing method is a — row and a `failed` entry, and a rerun reuses the finished rows",
  { timeout: 300_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'msccnet-bench-methods-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 2, seed: 8 });
    const config = {
      data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', workers: 0, prefetch: 1, testSplit: 'val' },
      model: { backboneDepth: 18, inputSize: 64, featsChannels: 64, dct: 'paper' },
      batchSize: 4,
      epochs: 1,
      optim: { optimizer: 'adamw', lr: 1e-3 },
      run: { threads: 2, valEveryEpochs: 1000 },
    };
    const out = join(dir, 'bench');
    const options = { outDir: out, methods: ['msccnet', 'multitask', 'hpfcn'] as const, variants: ['msccnet'], compressions: ['c23'] };
    // hpfcn made to fail: a model field it does not have
    const reported: FailedRow[] = [];
    const first = await runBenchmark('intra', config, {
      ...options,
      methodOverrides: { hpfcn: ['model.noSuchField=1'] },
      onRowFailed: (f) => reported.push(f),
    });
    assert.deepEqual(reported, first.failed, 'each failure is reported as it happens');
    assert.deepEqual(
      first.table.rows.map((r) => r.name),
      ['msccnet', 'multitask', 'hpfcn'],
    );
    assert.deepEqual(first.table.columns, ['c23 ACC', 'c23 AUC', 'c23 F1', 'c23 mIoU']);
    assert.deepEqual(first.table.rows[2]!.cells, [null, null, null, null]);
    for (const [i, r] of first.runs.entries()) {
      assert.equal(first.table.rows[i]!.cells[3], r.table.rows[0]!.cells.mIoU!.value);
      assert.ok(Number.isFinite(r.table.rows[0]!.cells.mIoU!.value));
    }
    assert.deepEqual(
      first.failed.map((f) => [f.row, f.method, f.compression, f.error.code]),
      [['hpfcn', 'hpfcn', 'c23', 'MSCCNET_CONFIG']],
    );
    assert.match(first.failed[0]!.error.problem, /model\.noSuchField/);
    const saved = JSON.parse(await readFile(join(out, 'multitask', 'c23', 'intra', 'ffpp-c23', 'config.json'), 'utf8')) as {
      method: string;
      model: { inputSize: number };
    };
    assert.deepEqual([saved.method, saved.model.inputSize], ['multitask', 64], 'the baseline trained itself at the crop side of the protocol');
    const report = JSON.parse(await readFile(join(out, 'intra', 'table.json'), 'utf8')) as BenchmarkReport;
    assert.deepEqual(report.failed, first.failed);
    assert.deepEqual(
      report.rows.map((r) => r.name),
      ['msccnet', 'multitask', 'hpfcn'],
    );
    const md = await readFile(join(out, 'intra', 'table.md'), 'utf8');
    assert.match(md, /\| hpfcn \| — \| — \| — \| — \|/);
    assert.match(md, /\| multitask \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d\d \|/);
    assert.match(md, /- hpfcn \(c23\): MSCCNET_CONFIG: /);

    // the rerun (hpfcn fixed) trains hpfcn alone; msccnet and multitask come from their test-metrics.json
    const metricsFile = join(out, 'msccnet', 'c23', 'intra', 'ffpp-c23', 'test-metrics.json');
    const before = (await stat(metricsFile)).mtimeMs;
    const started: string[] = [];
    const reused: string[] = [];
    const second = await runBenchmark('intra', config, {
      ...options,
      onEvent: ({ run, event }) => {
        if (event.kind === 'start') started.push(run);
        if (event.kind === 'tested' && event.reused) reused.push(run);
      },
    });
    assert.deepEqual(started, ['hpfcn FF++ c23'], 'one training run: hpfcn');
    assert.deepEqual(reused, ['msccnet FF++ c23', 'multitask FF++ c23']);
    assert.deepEqual(second.failed, []);
    assert.equal((await stat(metricsFile)).mtimeMs, before);
    assert.deepEqual(second.table.rows.slice(0, 2), first.table.rows.slice(0, 2));
    assert.ok(second.table.rows[2]!.cells.every((v) => v !== null && Number.isFinite(v)));
    const hpfcn = JSON.parse(await readFile(join(out, 'hpfcn', 'c23', 'intra', 'ffpp-c23', 'config.json'), 'utf8')) as { method: string };
    assert.equal(hpfcn.method, 'hpfcn');
  },
);

test("a baseline's run config: the shared fields, its own model at its defaults and the crop side, every one of its loss terms", () => {
  const raw = { data: { manifest: 'm.jsonl' }, model: { inputSize: 96, backboneDepth: 18 }, losses: { pix_cls_map: 0 }, batchSize: 3 };
  const c = methodRunConfig(raw, 'mvss', 'c40', ['model.constrain=false']);
  assert.deepEqual([c.method, c.model.inputSize, c.model.constrain, c.data.cropSize, c.data.compression, c.batchSize], ['mvss', 96, false, 96, 'c40', 3]);
  assert.ok(!('backboneDepth' in c.model) && !('pix_cls_map' in c.losses), "MSCCNet's model fields and loss multipliers stay with MSCCNet");
  assert.ok(Object.values(c.losses).every((w) => w === 1));
  assert.equal(methodRunConfig(raw, 'msccnet', 'c23').model.backboneDepth, 18);
});

test('a benchmark row whose data list changed since its run is not reused, and its resume is refused naming the data list', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-bench-data-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 2, seed: 8 });
  const config = oneStepBenchmarkConfig(set.manifest);
  const options = { outDir: join(dir, 'bench'), variants: ['msccnet'], compressions: ['c23'] };
  const first = await runBenchmark('intra', config, options);
  assert.deepEqual(first.failed, []);
  const lines = (await readFile(set.manifest, 'utf8')).trim().split('\n');
  const dropped = lines.findIndex((l) => (JSON.parse(l) as { split: string }).split === 'train');
  await writeFile(set.manifest, `${lines.filter((_, i) => i !== dropped).join('\n')}\n`); // same path, other data
  const reused: string[] = [];
  const second = await runBenchmark('intra', config, {
    ...options,
    onEvent: ({ run, event }) => {
      if (event.kind === 'tested' && event.reused) reused.push(run);
    },
  });
  assert.deepEqual(reused, [], 'the old result is not reused for other data');
  assert.deepEqual(
    second.failed.map((f) => [f.row, f.error.code]),
    [['msccnet', 'MSCCNET_CHECKPOINT']],
  );
  assert.match(second.failed[0]!.error.problem, /was written for another data list/);
});
