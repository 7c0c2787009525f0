/**
 * The demo report from a result object (no training): the baselines of a run appear as rows of
 * Tables 2 and 4 and as columns of the Fig. 4 grid, in HTML, Markdown and JSON alike, with the
 * numbers of their protocol tables; a run without baselines keeps the two-model layout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EvaluationResult } from '../../src/eval/index.js';
import type { ProtocolTable } from '../../src/benchmark/protocols.js';
import { baselineBudget, DEMO_BASELINES, DEMO_PLANS, MODEL_NAMES, methodsWithinBudget, type DemoBaseline, type DemoRow } from '../../src/demo/plan.js';
import { formatCell, headline, leftOutNotes, reportTables, sentences, summaryLine, writeReport, type ReportTable } from '../../src/demo/report/index.js';
import type { DemoResult } from '../../src/demo/result.js';
import { METHOD_NAMES } from '../../src/models/method.js';

const HELD = ['Deepfakes', 'FaceSwap'];

/** A protocol table whose every metric is `v` (leave-one-out: one row per held-out method and the average). */
function table(protocol: 'intra' | 'leave-one-out', v: number): ProtocolTable {
  const cells = { ACC: { value: v, run: 'r' }, AUC: { value: v + 0.01, run: 'r' }, F1: { value: v + 0.02, run: 'r' }, mIoU: { value: v + 0.03, run: 'r' } };
  const names = protocol === 'intra' ? ['FF++ c23'] : [...HELD, 'Average'];
  return { protocol, title: '', setting: '', augment: 'paper', rows: names.map((name) => ({ name, cells })) };
}

const PNG = Buffer.from('89504e470d0a1a0a', 'hex');

function result(baselines: readonly DemoBaseline[], failed: readonly DemoBaseline[] = []): DemoResult {
  const rows: DemoRow[] = ['base', 'msccnet', ...baselines.filter((b) => !failed.includes(b))];
  const value = (m: DemoRow): number => 0.1 * (rows.indexOf(m) + 1);
  const tables = (protocol: 'intra' | 'leave-one-out') => Object.fromEntries(rows.map((m) => [m, table(protocol, value(m))])) as DemoResult['intra'];
  return {
    plan: DEMO_PLANS.quick,
    out: '/tmp/demo',
    stats: [],
    seeds: { models: [0], baselines: [0] },
    baselines,
    leftOut: [],
    baselineSeconds: 0,
    comparisons: { intra: [], leaveOneOut: [] },
    failed: failed.map((m) => ({
      row: m,
      method: m,
      compression: 'c23',
      error: { code: 'MSCCNET_IO', problem: `cannot read:\n  ${m}.safetensors`, hint: 'h' },
    })),
    intra: tables('intra'),
    leaveOneOut: tables('leave-one-out'),
    intraResults: {} as Record<'base' | 'msccnet', EvaluationResult>,
    stageSeconds: { train: 12.3 },
    allReal: { ACC: 0.5, AUC: 0.5, F1: 0.45, mIoU: 0.4 },
    leaveOneOutAllReal: [0.41, 0.42],
    curves: rows.map((model) => ({ model, run: 'intra FF++ c23', steps: [1, 2], loss: [1, 0.5] })),
    onnx: { path: '/tmp/demo/model/msccnet.onnx', bytes: 1000, nodes: 10 },
    detect: [],
    grid: [
      {
        method: 'Deepfakes',
        label: 'synthetic region-swap (Deepfakes slot)',
        image: 'a.png',
        scores: { base: 0.2, msccnet: 0.8 },
        fakeIoU: { base: 0.1, msccnet: 0.5 },
        png: { input: PNG, annotation: PNG, base: PNG, msccnet: PNG },
        baselines: baselines.filter((b) => !failed.includes(b)).map((method, i) => ({ method, score: 0.3 + i / 10, fakeIoU: 0.2, png: PNG })),
      },
    ],
    strip: { real: 'r.png', fake: 'f.png', steps: [] },
    robustness: [],
  };
}

const byId = (tables: readonly ReportTable[], id: ReportTable['id']): ReportTable => tables.find((t) => t.id === id)!;

test('baselines are rows of Tables 2 and 4 (their own protocol numbers, in %) and columns of the Fig. 4 grid', async (t) => {
  const r = result(['multitask', 'ffd']);
  const tables = reportTables(r);
  const t2 = byId(tables, 'table2');
  assert.deepEqual(
    t2.rows.map((row) => row.name),
    ['all-real predictor', 'Base.', 'MSCCNet (small)', 'Multi-task', 'FFD'],
  );
  // c40 group empty (the demo trains c23), then ACC AUC F1 mIoU of the baseline's table
  assert.deepEqual(t2.rows[3]!.cells, [null, null, null, null, 30, 31, 32, 33]);
  assert.deepEqual(t2.rows[4]!.cells.slice(4), [40, 41, 42, 43]);
  const t4 = byId(tables, 'table4');
  assert.deepEqual(t4.columns.slice(-8), ['Multi-task ACC', 'Multi-task AUC', 'Multi-task F1', 'Multi-task mIoU', 'FFD ACC', 'FFD AUC', 'FFD F1', 'FFD mIoU']);
  assert.equal(t4.columns.length, 1 + 4 * 4);
  assert.deepEqual(
    t4.rows.map((row) => row.cells.length),
    [17, 17, 17],
  );
  assert.deepEqual(t4.rows[2]!.cells.slice(-4), [40, 41, 42, 43], 'the average row');

  const dir = await mkdtemp(join(tmpdir(), 'msccnet-report-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const paths = await writeReport(dir, r);
  const html = await readFile(paths.html, 'utf8');
  const fig4 = html.match(/<section id="fig4">([\s\S]*?)<\/section>/)![1]!;
  assert.deepEqual(
    [...fig4.matchAll(/<th>([^<]*P\(fake\))<\/th>/g)].map((m) => m[1]),
    ['Base. P(fake)', 'MSCCNet P(fake)', 'Multi-task P(fake)', 'FFD P(fake)'],
  );
  assert.equal([...fig4.matchAll(/<td><img /g)].length, 2 + 2 + 2, 'input, annotation, Base., MSCCNet and one column per baseline');
  assert.match(fig4, /Multi-task 30\.0 %, FFD 40\.0 %/);
  assert.match(html, /<th scope="row">FFD<\/th><td>—<\/td><td>—<\/td><td>—<\/td><td>—<\/td><td>40<\/td><td>41<\/td><td>42<\/td><td>43<\/td><\/tr>/);
  const md = await readFile(paths.markdown, 'utf8');
  assert.match(md, /\| Multi-task \| — \| — \| — \| — \| 30 \| 31 \| 32 \| 33 \|/);
  const json = JSON.parse(await readFile(paths.json, 'utf8')) as {
    tables: ReportTable[];
    models: Array<{ id: string; name: string }>;
    grid: Array<{ baselines: Array<Record<string, unknown>> }>;
  };
  assert.deepEqual(json.tables, JSON.parse(JSON.stringify(tables)));
  assert.deepEqual(
    json.models.map((m) => m.id),
    ['base', 'msccnet', 'multitask', 'ffd'],
  );
  assert.deepEqual(
    json.grid[0]!.baselines,
    [
      { method: 'multitask', score: 0.3, fakeIoU: 0.2 },
      { method: 'ffd', score: 0.4, fakeIoU: 0.2 },
    ],
    'no pictures in the JSON',
  );
});

test('a failed baseline keeps its rows and columns with — cells, the captions say why, and the Fig. 4 grid has no column for it', async (t) => {
  const r = result(['multitask', 'ffd'], ['multitask']);
  const tables = reportTables(r);
  const t2 = byId(tables, 'table2');
  assert.deepEqual(
    t2.rows.map((row) => row.name),
    ['all-real predictor', 'Base.', 'MSCCNet (small)', 'Multi-task', 'FFD'],
  );
  assert.deepEqual(t2.rows[3]!.cells, Array(8).fill(null));
  assert.deepEqual(t2.rows[4]!.cells.slice(4), [30, 31, 32, 33], "FFD's own table");
  const t4 = byId(tables, 'table4');
  assert.equal(t4.columns.length, 1 + 4 * 4);
  for (const row of t4.rows) assert.deepEqual(row.cells.slice(9, 13), [null, null, null, null]);
  for (const t of [t2, t4]) assert.match(t.caption, /Multi-task failed \(its cells are —\): MSCCNET_IO: cannot read: multitask\.safetensors\./);

  const dir = await mkdtemp(join(tmpdir(), 'msccnet-report-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const paths = await writeReport(dir, r);
  const fig4 = (await readFile(paths.html, 'utf8')).match(/<section id="fig4">([\s\S]*?)<\/section>/)![1]!;
  assert.deepEqual(
    [...fig4.matchAll(/<th>([^<]*P\(fake\))<\/th>/g)].map((m) => m[1]),
    ['Base. P(fake)', 'MSCCNet P(fake)', 'FFD P(fake)'],
  );
  const json = JSON.parse(await readFile(paths.json, 'utf8')) as { failed: DemoResult['failed'] };
  assert.deepEqual(json.failed, r.failed);
});

test('M2TR and SLADD are rows of Tables 2 and 4, and both captions say their pixel results come from the adaptations (and M2TR that it runs on b0)', () => {
  const tables = reportTables(result(['m2tr', 'sladd']));
  for (const id of ['table2', 'table4'] as const) {
    const t = byId(tables, id);
    assert.match(t.caption, /M2TR trains in a small configuration of our own, EfficientNet-b0 instead of the official b4/);
    assert.match(t.caption, /its pixel results come from an adaptation .*Localizer's logit resized bilinearly/);
    assert.match(t.caption, /SLADD's pixel results come from an adaptation .*regression map's logit resampled bilinearly.*detectorAlone/);
  }
  assert.deepEqual(
    byId(tables, 'table2').rows.map((row) => row.name),
    ['all-real predictor', 'Base.', 'MSCCNet (small)', 'M2TR', 'SLADD'],
  );
  assert.equal(byId(tables, 'table4').columns.length, 1 + 4 * 4);
  // a run without them says nothing of them
  assert.doesNotMatch(byId(reportTables(result(['ffd'])), 'table2').caption, /M2TR|SLADD/);
});

test('a run without baselines keeps the two-model layout', () => {
  const tables = reportTables(result([]));
  assert.deepEqual(
    byId(tables, 'table2').rows.map((row) => row.name),
    ['all-real predictor', 'Base.', 'MSCCNet (small)'],
  );
  assert.equal(byId(tables, 'table4').columns.length, 1 + 2 * 4);
});

test("the demo's default baselines: the cheapest that fit the budget, in the paper's order; the baseline list is the registry's", () => {
  assert.deepEqual(
    [...DEMO_BASELINES],
    METHOD_NAMES.filter((m) => m !== 'msccnet'),
  );
  assert.deepEqual(Object.keys(MODEL_NAMES).sort(), ['base', ...METHOD_NAMES].sort());
  // 360 steps (the full demo: 4 × 45 intra + 5 × 36 leave-one-out) at 88 / 309 / 322 / 331 / 348 / 1628 ms (Multi-task,
  // M2TR-b0, SLADD, FFD, HP-FCN, CAT-Net): 31.7 + 111.2 + 115.9 = 258.8 s fit 300 s, FFD's 119.2 s more do not
  assert.equal(DEMO_PLANS.full.epochs.intra * 45 + 5 * DEMO_PLANS.full.epochs.leaveOneOut * 36, 360);
  assert.deepEqual(methodsWithinBudget(360, DEMO_PLANS.full.baselineSeconds), ['multitask', 'm2tr', 'sladd']);
  assert.deepEqual(methodsWithinBudget(360, 360 * (0.088 + 0.309 + 0.322 + 0.331) + 1), ['multitask', 'ffd', 'm2tr', 'sladd']);
  assert.deepEqual(methodsWithinBudget(360, 360 * (0.088 + 0.309 + 0.322 + 0.331 + 0.348) + 1), ['hpfcn', 'multitask', 'ffd', 'm2tr', 'sladd']);
  assert.deepEqual(methodsWithinBudget(360, 360 * (0.088 + 0.309 + 0.322 + 0.331 + 0.348 + 1.628) + 1), [
    'hpfcn',
    'multitask',
    'ffd',
    'm2tr',
    'sladd',
    'catnet',
  ]);
  assert.deepEqual(methodsWithinBudget(630, 30), []);
  assert.deepEqual(methodsWithinBudget(100, 1e6), ['hpfcn', 'multitask', 'ffd', 'mvss', 'm2tr', 'sladd', 'catnet', 'hifinet']);
  assert.deepEqual(DEMO_PLANS.quick.baselineSeconds, 0);
});

/** `result` with three seeds of Base. and MSCCNet: per-seed mIoU values and MSCCNet − Base. comparisons built by hand. */
function seededResult(): DemoResult {
  const r = result(['ffd']);
  const seeded = (t: ProtocolTable, values: readonly number[]): ProtocolTable => ({
    ...t,
    seeds: values.map((_, i) => i),
    rows: t.rows.map((row) => ({
      ...row,
      cells: {
        ...row.cells,
        mIoU: {
          value: values.reduce((a, v) => a + v, 0) / values.length,
          run: 'r',
          spread: { std: 0.02, n: values.length, perSeed: values.map((value, seed) => ({ seed, value, run: `r/seed-${seed}` })) },
        },
      },
    })),
  });
  const comparison = (difference: number, low: number, high: number) => ({
    difference,
    low,
    high,
    level: 0.95,
    signFlips: 0.25,
    resamples: 2000,
    videos: 12,
    seeds: 3,
  });
  return {
    ...r,
    seeds: { models: [0, 1, 2], baselines: [0] },
    intra: { ...r.intra, base: seeded(r.intra.base, [0.5, 0.52, 0.54]), msccnet: seeded(r.intra.msccnet, [0.6, 0.62, 0.64]) },
    leaveOneOut: { ...r.leaveOneOut, base: seeded(r.leaveOneOut.base, [0.4, 0.42, 0.44]), msccnet: seeded(r.leaveOneOut.msccnet, [0.45, 0.47, 0.49]) },
    comparisons: {
      intra: [
        { a: 'msccnet', b: 'base', testSet: 'FF++ c23', metric: 'pixel mIoU', comparison: comparison(0.1, -0.012, 0.2) },
        { a: 'msccnet', b: 'ffd', testSet: 'FF++ c23', metric: 'pixel mIoU', comparison: { ...comparison(0.3, 0.25, 0.35), seedsB: 1, signFlips: 0 } },
      ],
      leaveOneOut: [],
    },
  };
}

test('three seeds: cells are mean ± std with every seed kept, the paired table and one sentence per comparison, the seed plot', async (t) => {
  const r = seededResult();
  const tables = reportTables(r);
  const msccnet = byId(tables, 'table2').rows[2]!.cells[7]!;
  assert.deepEqual(msccnet, { mean: 62, std: 2, n: 3, perSeed: [60, 62, 64] });
  assert.equal(formatCell(msccnet), '62.00 ± 2.00');
  assert.match(byId(tables, 'table2').caption, /Base\. and MSCCNet trained 3 seeds \(0, 1, 2\); the baselines 1 seed \(0\)/);
  assert.deepEqual(byId(tables, 'paired').rows, [
    { name: 'MSCCNet (small) − Base.', cells: ['pixel mIoU', '+10.00', '[−1.20, +20.00]', '25.0 %', '3'] },
    { name: 'MSCCNet (small) − FFD', cells: ['pixel mIoU', '+30.00', '[+25.00, +35.00]', '0.0 %', '3 / 1'] },
  ]);
  assert.deepEqual(sentences(r), [
    'MSCCNet (small) − Base. on the c23 test set pixel mIoU: +10.0 points [−1.2, +20.0], not significant at 95 % (12 videos, 3 seeds, 2000 resamples; sign flips in 25.0 %)',
    'MSCCNet (small) − FFD on the c23 test set pixel mIoU: +30.0 points [+25.0, +35.0], significant at 95 % (12 videos, 3 and 1 seeds, 2000 resamples; sign flips in 0.0 %)',
  ]);
  const h = headline(r);
  assert.deepEqual([h.msccnetMIoU, h.std.msccnetMIoU, h.seeds, h.overBaseInterval], [62, 2, 3, [-1.2, 20]]);
  assert.match(
    summaryLine(r, h),
    /mean ± std over 3 seeds\): MSCCNet 62\.00 ± 2\.00 %, Base\. 52\.00 ± 2\.00 %.* MSCCNet − Base\.: \+10\.00 points, 95 % interval \[-1\.20, 20\.00\]/,
  );

  const dir = await mkdtemp(join(tmpdir(), 'msccnet-report-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const paths = await writeReport(dir, r);
  const html = await readFile(paths.html, 'utf8');
  const seeds = html.match(/<section id="seeds">([\s\S]*?)<\/section>/)![1]!;
  // two charts (intra, leave-one-out average); per chart a dot per seed: 3 + 3 + 1 (FFD), and a mean bar per model
  assert.equal((seeds.match(/<svg class="chart"/g) ?? []).length, 2);
  assert.equal((seeds.match(/<circle class="seed"/g) ?? []).length, 2 * (3 + 3 + 1));
  assert.equal((seeds.match(/<line class="mean"/g) ?? []).length, 2 * 3);
  assert.match(seeds, /<title>MSCCNet \(small\) mean of 3: 62\.00<\/title>/);
  const significance = html.match(/<section id="significance">([\s\S]*?)<\/section>/)![1]!;
  for (const s of sentences(r)) assert.ok(significance.includes(`<li>${s}</li>`), s);
  const md = await readFile(paths.markdown, 'utf8');
  assert.ok(md.includes(`- ${sentences(r)[0]}`));
  assert.ok(md.includes('| MSCCNet (small) | — | — | — | — | 20 | 21 | 22 | 62.00 ± 2.00 |'), md);
  const json = JSON.parse(await readFile(paths.json, 'utf8')) as { sentences: string[]; comparisons: DemoResult['comparisons'] };
  assert.deepEqual(json.sentences, sentences(r));
  assert.deepEqual(json.comparisons, r.comparisons);
});

test('each registered baseline the budget leaves out is named with its estimated time against what was left, and how to run it', () => {
  // 360 steps, 300 s: Multi-task (31.68 s), M2TR (111.24 s) and SLADD (115.92 s) fit; then 41.16 s are left and FFD
  // (119.16 s) does not fit, which ends the choice: HPFCN (125.28 s) and the dearer ones are left out too
  const budget = baselineBudget(360, 300);
  const leftOut = budget.filter((b) => !b.chosen);
  const r = { ...result(['multitask', 'm2tr', 'sladd']), leftOut, baselineSeconds: 300 };
  const notes = leftOutNotes(r);
  assert.equal(notes.length, DEMO_BASELINES.length - 3);
  assert.ok(
    notes.includes(
      'HPFCN was left out of this run by the time budget: its estimated training time, 125 s (360 steps × 348 ms per step on 2 CPU threads), does not fit the 41 s left of the 300 s the baselines may add to keep the demo within 20 minutes on a 2-core machine; `msccnet demo --methods hpfcn` runs it.',
    ),
    notes.join('\n'),
  );
  for (const b of leftOut)
    assert.ok(
      notes.some((n) => n.startsWith(`${MODEL_NAMES[b.method]} was left out`) && n.includes(`--methods ${b.method}\``)),
      b.method,
    );
});
