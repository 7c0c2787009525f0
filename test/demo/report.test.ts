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
import { DEMO_BASELINES, DEMO_PLANS, MODEL_NAMES, methodsWithinBudget, type DemoBaseline, type DemoRow } from '../../src/demo/plan.js';
import { reportTables, writeReport, type ReportTable } from '../../src/demo/report/index.js';
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
    baselines,
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

test('M2TR and SLADD are rows of Tables 2 and 4, and both captions say their pixel results come from the adaptations', () => {
  const tables = reportTables(result(['m2tr', 'sladd']));
  for (const id of ['table2', 'table4'] as const) {
    const t = byId(tables, id);
    assert.match(t.caption, /M2TR's pixel results come from an adaptation .*Localizer's logit resized bilinearly/);
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
    // CAT-Net is registered but joins the demo's rows with issue 28's demo item (its samples need the JPEG side of the loader first)
    METHOD_NAMES.filter((m) => m !== 'msccnet' && m !== 'catnet'),
  );
  assert.deepEqual(Object.keys(MODEL_NAMES).sort(), ['base', ...METHOD_NAMES].sort());
  // 630 steps (the full demo: 450 intra + 5 × 36 leave-one-out) at the measured 55 / 292 / 303 / 506 / 884 / 1525 ms
  assert.deepEqual(methodsWithinBudget(630, DEMO_PLANS.full.baselineSeconds), ['multitask', 'ffd']);
  assert.deepEqual(methodsWithinBudget(630, 630 * (0.055 + 0.292 + 0.303) + 1), ['multitask', 'ffd', 'sladd']);
  assert.deepEqual(methodsWithinBudget(630, 630 * (0.055 + 0.292 + 0.303 + 0.506) + 1), ['hpfcn', 'multitask', 'ffd', 'sladd']);
  assert.deepEqual(methodsWithinBudget(630, 630 * (0.055 + 0.292 + 0.303 + 0.506 + 0.884) + 1), ['hpfcn', 'multitask', 'ffd', 'm2tr', 'sladd']);
  assert.deepEqual(methodsWithinBudget(630, 30), []);
  assert.deepEqual(methodsWithinBudget(100, 1e6), ['hpfcn', 'multitask', 'ffd', 'mvss', 'm2tr', 'sladd']);
  assert.deepEqual(DEMO_PLANS.quick.baselineSeconds, 0);
});
