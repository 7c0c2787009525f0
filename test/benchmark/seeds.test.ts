/**
 * `benchmark --seeds`: one resumable run folder per seed, cells that are the mean ± sample std of
 * the per-seed results read back from their own test-metrics.json, reuse of finished seeds, and
 * the same seed giving the same numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SamplePool } from '../../src/samples/loader.js';
import { METRICS, runBenchmark, type BenchmarkReport, type ProtocolTable } from '../../src/benchmark/protocols.js';
import type { EvaluationResult } from '../../src/eval/index.js';
import { InvalidArgumentError } from 'commander';
import { seedList } from '../../src/cli/args.js';
import { runCli } from '../helpers/cli.js';
import { oneStepBenchmarkConfig, writeSyntheticSet } from '../train/synthetic.js';

const official = async (dir: string): Promise<EvaluationResult['official']> =>
  (JSON.parse(await readFile(join(dir, 'test-metrics.json'), 'utf8')) as EvaluationResult).official;

test(
  'benchmark --seeds 2: a folder per seed, mean ± std cells from their results; --seeds 3 trains seed 2 alone; a seed repeats its numbers',
  { timeout: 300_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'msccnet-bench-seeds-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 2, seed: 5 });
    const config = oneStepBenchmarkConfig(set.manifest);
    const configFile = join(dir, 'config.json');
    await writeFile(configFile, JSON.stringify(config));
    const out = join(dir, 'bench');
    const r = await runCli(['benchmark', '--protocol', 'intra', '-c', configFile, '-o', out, '--variants', 'msccnet', '--seeds', '2']);
    assert.equal(r.code, 0, r.stderr);

    const runDir = join(out, 'msccnet', 'c23', 'intra', 'ffpp-c23');
    const seeds = [await official(join(runDir, 'seed-0')), await official(join(runDir, 'seed-1'))];
    assert.notEqual(seeds[0]!.mIoU, seeds[1]!.mIoU, 'the seed changes the run (init, data order, augmentation)');
    for (const [s, d] of ['seed-0', 'seed-1'].entries()) {
      const saved = JSON.parse(await readFile(join(runDir, d, 'config.json'), 'utf8')) as { seed: number };
      assert.equal(saved.seed, s, "the seed is the run's config seed");
    }
    const report = JSON.parse(await readFile(join(out, 'intra', 'table.json'), 'utf8')) as BenchmarkReport;
    assert.deepEqual(report.seeds, [0, 1]);
    assert.deepEqual(report.columns, ['c23 ACC', 'c23 AUC', 'c23 F1', 'c23 mIoU']);
    for (const [i, m] of METRICS.entries()) {
      const [a, b] = [seeds[0]![m], seeds[1]![m]];
      // two values: mean (a+b)/2, sample std |a−b|/√2
      assert.ok(Math.abs(report.rows[0]!.cells[i]! - (a + b) / 2) < 1e-12, m);
      const spread = report.rows[0]!.spread![i]!;
      assert.ok(Math.abs(spread.std - Math.abs(a - b) / Math.SQRT2) < 1e-12, m);
      assert.equal(spread.n, 2);
      assert.deepEqual(
        spread.perSeed.map((p) => [p.seed, p.value, p.run]),
        [
          [0, a, join(runDir, 'seed-0')],
          [1, b, join(runDir, 'seed-1')],
        ],
      );
    }
    const pct = (v: number): string => (100 * v).toFixed(2);
    const mIoU = `${pct((seeds[0]!.mIoU + seeds[1]!.mIoU) / 2)} ± ${pct(Math.abs(seeds[0]!.mIoU - seeds[1]!.mIoU) / Math.SQRT2)}`;
    assert.ok(r.stdout.includes(`${mIoU} |`), r.stdout);
    assert.match(r.stdout, /2 seeds \(0, 1\): mean ± sample std over seeds/);
    const md = await readFile(join(out, 'intra', 'table.md'), 'utf8');
    assert.ok(md.includes(mIoU));
    const csv = (await readFile(join(out, 'intra', 'table.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv[0], 'protocol,model,column,value,std,n,per_seed');
    assert.equal(
      csv[4],
      `intra,msccnet,c23 mIoU,${(seeds[0]!.mIoU + seeds[1]!.mIoU) / 2},${report.rows[0]!.spread![3]!.std},2,0:${seeds[0]!.mIoU};1:${seeds[1]!.mIoU}`,
    );

    // adding a seed trains only the new run
    const before = (await stat(join(runDir, 'seed-0', 'test-metrics.json'))).mtimeMs;
    const started: string[] = [];
    const reused: string[] = [];
    const options = { outDir: out, variants: ['msccnet'], compressions: ['c23'] };
    const second = await runBenchmark('intra', config, {
      ...options,
      seeds: [0, 1, 2],
      onEvent: ({ run, event }) => {
        if (event.kind === 'start') started.push(run);
        if (event.kind === 'tested' && event.reused) reused.push(run);
      },
    });
    assert.deepEqual(started, ['msccnet FF++ c23 seed 2']);
    assert.deepEqual(reused, ['msccnet FF++ c23 seed 0', 'msccnet FF++ c23 seed 1']);
    assert.equal((await stat(join(runDir, 'seed-0', 'test-metrics.json'))).mtimeMs, before);
    assert.equal(second.table.rows[0]!.spread![3]!.n, 3);
    assert.match(second.table.caption, /3 seeds \(0, 1, 2\)/);

    // the same seed on the same machine: the same numbers, also when the caller lends the decode threads
    const pool = await SamplePool.create(1);
    t.after(() => pool.close());
    const decoded = t.mock.method(pool, 'run');
    const closed = t.mock.method(pool, 'close');
    const again = await runBenchmark('intra', config, { ...options, outDir: join(dir, 'again'), seeds: [1], pool });
    assert.ok(decoded.mock.callCount() > 0, "the run's training and test decode on the lent pool");
    assert.equal(closed.mock.callCount(), 0, 'the lent pool stays open for its owner');
    assert.deepEqual(again.failed, []);
    assert.deepEqual(await official(join(dir, 'again', 'msccnet', 'c23', 'intra', 'ffpp-c23', 'seed-1')), seeds[1]);
    assert.equal(again.table.rows[0]!.spread![3]!.std, 0);
  },
);

test(
  'leave-one-out with seeds: the Average row averages each seed over the held-out manipulations, then takes mean ± std over seeds',
  { timeout: 300_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'msccnet-bench-seeds-loo-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 4, seed: 6 });
    // every other video's fake becomes a FaceSwap fake: two manipulations to leave out in turn
    const lines = (await readFile(set.manifest, 'utf8')).trim().split('\n');
    const relabelled = lines.map((l) => {
      const e = JSON.parse(l) as { method: string; video: string };
      return JSON.stringify(e.method === 'Deepfakes' && Number.parseInt(e.video, 10) % 2 === 1 ? { ...e, method: 'FaceSwap' } : e);
    });
    await writeFile(set.manifest, `${relabelled.join('\n')}\n`);
    const config = oneStepBenchmarkConfig(set.manifest, ['Deepfakes', 'FaceSwap']);
    const out = join(dir, 'bench');
    const result = await runBenchmark('leave-one-out', config, { outDir: out, variants: ['msccnet'], compressions: ['c23'], seeds: [0, 1] });
    assert.deepEqual(result.failed, []);
    const protocolDir = join(out, 'msccnet', 'c23', 'leave-one-out');
    const table = JSON.parse(await readFile(join(protocolDir, 'results.json'), 'utf8')) as ProtocolTable;
    assert.deepEqual(
      table.rows.map((r) => r.name),
      ['Deepfakes', 'FaceSwap', 'Average'],
    );
    for (const m of METRICS) {
      const perSeed: number[] = [];
      for (const s of [0, 1]) {
        const held = [await official(join(protocolDir, 'without-Deepfakes', `seed-${s}`)), await official(join(protocolDir, 'without-FaceSwap', `seed-${s}`))];
        perSeed.push((held[0]![m] + held[1]![m]) / 2);
      }
      const average = table.rows[2]!.cells[m]!;
      assert.deepEqual(
        average.spread!.perSeed.map((p) => p.value),
        perSeed,
      );
      assert.ok(Math.abs(average.value - (perSeed[0]! + perSeed[1]!) / 2) < 1e-12, m);
      assert.ok(Math.abs(average.spread!.std - Math.abs(perSeed[0]! - perSeed[1]!) / Math.SQRT2) < 1e-12, m);
    }
    const avgColumn = result.table.columns.indexOf('Average mIoU');
    assert.equal(result.table.rows[0]!.cells[avgColumn], table.rows[2]!.cells.mIoU!.value);
  },
);

test('--seeds is parsed strictly: a count ≥ 1 or a comma list of distinct seeds, else a one-line error naming the option', async () => {
  assert.deepEqual(seedList('3'), [0, 1, 2]);
  assert.deepEqual(seedList('4,0,7'), [4, 0, 7]);
  for (const bad of ['0', '', 'a', '1,1', '1,,2', '-1,2', '2.5', '1e3']) assert.throws(() => seedList(bad), InvalidArgumentError, bad);
  const r = await runCli(['benchmark', '--protocol', 'intra', '--seeds', '1,1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--seeds.*expected a count of seeds .* got '1,1'/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});
