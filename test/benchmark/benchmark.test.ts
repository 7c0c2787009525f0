import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBenchmark } from '../../src/benchmark/protocols.js';
import { writeSyntheticSet } from '../train/synthetic.js';

test('benchmark --variants trains and tests each variant and writes one paper-layout table', { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-bench-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 2, seed: 8 });
  const config = {
    data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', cropSize: 64, workers: 0, prefetch: 1, testSplit: 'val' },
    model: { backboneDepth: 18, inputSize: 64, featsChannels: 64, dct: 'paper' },
    batchSize: 4,
    epochs: 1,
    run: { threads: 2, valEveryEpochs: 1000 },
  };
  const out = join(dir, 'bench');
  const { runs, table } = await runBenchmark('intra', config, { outDir: out, variants: ['base', 'msccnet'], compressions: ['c23'] });
  assert.deepEqual(
    runs.map((r) => [r.row, r.compression]),
    [
      ['base', 'c23'],
      ['msccnet', 'c23'],
    ],
  );
  const saved = JSON.parse(await readFile(join(out, 'base', 'c23', 'intra', 'ffpp-c23', 'config.json'), 'utf8')) as { model: { mfa: boolean; mscc: boolean } };
  assert.deepEqual([saved.model.mfa, saved.model.mscc], [false, false], 'the base run trained the Base. variant');
  assert.deepEqual(
    table.rows.map((r) => r.name),
    ['base', 'msccnet'],
  );
  assert.deepEqual(table.columns, ['c23 ACC', 'c23 AUC', 'c23 F1', 'c23 mIoU']);
  for (const [i, r] of runs.entries()) assert.equal(table.rows[i]!.cells[3], r.table.rows[0]!.cells.mIoU!.value);
  assert.match(await readFile(join(out, 'intra', 'table.md'), 'utf8'), /\| model \| c23 ACC \| c23 AUC \| c23 F1 \| c23 mIoU \|/);
});
