/**
 * `msccnet benchmark --methods` through the CLI: a method that fails leaves a — row, the others
 * are printed and written, and the command exits 1 naming the failed row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchmarkReport } from '../../src/benchmark/protocols.js';
import { runCli } from '../helpers/cli.js';
import { writeSyntheticSet } from '../train/synthetic.js';

test("benchmark --methods msccnet,multitask with multitask made to fail: exit 1 naming it, msccnet's row intact", { timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msccnet-cli-bench-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 2, seed: 3 });
  const config = join(dir, 'config.json');
  await writeFile(
    config,
    JSON.stringify({
      data: { manifest: set.manifest, compression: 'c23', methods: ['Deepfakes'], augment: 'paper', workers: 0, prefetch: 1, testSplit: 'val' },
      model: { backboneDepth: 18, inputSize: 64, featsChannels: 64, dct: 'paper' },
      batchSize: 4,
      epochs: 1,
      run: { threads: 2, valEveryEpochs: 1000 },
    }),
  );
  const out = join(dir, 'bench');
  const r = await runCli([
    'benchmark',
    '--protocol',
    'intra',
    '-c',
    config,
    '-o',
    out,
    '--methods',
    'msccnet,multitask',
    '--set-method',
    'multitask:model.noSuchField=1',
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /MSCCNET_BENCHMARK_ROWS|1 benchmark run\(s\) failed/);
  assert.match(r.stderr, /multitask \(c23\): invalid configuration: model\.noSuchField/);
  assert.match(r.stdout, /\| msccnet \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d\d \|/);
  assert.match(r.stdout, /\| multitask \| — \| — \| — \| — \|/);
  const report = JSON.parse(await readFile(join(out, 'intra', 'table.json'), 'utf8')) as BenchmarkReport;
  assert.deepEqual(
    report.failed.map((f) => [f.row, f.error.code]),
    [['multitask', 'MSCCNET_CONFIG']],
  );
  assert.ok(report.rows[0]!.cells.every((v) => v !== null));

  const bad = await runCli(['benchmark', '--protocol', 'intra', '-c', config, '-o', out, '--methods', 'msccnet,nosuch']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--methods.*expected a comma list of msccnet, hpfcn, multitask, ffd, mvss\b.*; got nosuch/);
});
