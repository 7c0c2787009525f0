/**
 * A baseline that fails inside the demo (here: its run starts from a weights file that does not
 * exist, so training fails after the plan was accepted) leaves its cells — and an entry in
 * `failed`; Base., MSCCNet, export, detect, the figures and the report all still happen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReportTable } from '../../src/demo/report/index.js';
import { runDemo } from '../../src/demo/run.js';

test('demo --quick --methods multitask with multitask failing: its rows are —, the report is whole', { timeout: 900_000 }, async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'msccnet-demo-fail-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const missing = join(out, 'no-such-weights.safetensors');
  // one seed: the seeds play no part in a failing baseline
  const r = await runDemo({ out, size: 'quick', seeds: [0], methods: ['multitask'], methodOverrides: { multitask: [`run.weights=${missing}`] } });

  assert.deepEqual(
    r.failed.map((f) => [f.row, f.method, f.compression]),
    [['multitask', 'multitask', r.plan.compression]],
  );
  assert.match(r.failed[0]!.error.problem, /no-such-weights\.safetensors/);
  assert.deepEqual(r.baselines, ['multitask']);
  assert.equal(r.intra.multitask, undefined);
  assert.equal(r.leaveOneOut.multitask, undefined, 'a failed baseline is not run again under the next protocol');
  assert.ok(r.grid.every((g) => g.baselines.length === 0));
  assert.ok(existsSync(r.onnx.path));

  const json = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as { tables: ReportTable[]; failed: unknown[] };
  assert.deepEqual(json.failed, JSON.parse(JSON.stringify(r.failed)));
  const table2 = json.tables.find((x) => x.id === 'table2')!;
  const row = (name: string) => table2.rows.find((x) => x.name === name)!.cells.filter((v) => v !== null);
  assert.deepEqual(row('Multi-task'), []);
  assert.equal(row('MSCCNet (small)').length, 4);
  assert.equal(row('Base.').length, 4);
  assert.match(table2.caption, /Multi-task failed \(its cells are —\)/);
});
