/**
 * The paired table of a benchmark: MSCCNet − every other row on each test set, read from the
 * runs' own test-metrics.json (per-video units); `benchmark --compare a,b` on finished folders;
 * a folder tested before units were recorded is refused by --compare and tested again (without
 * training) by a rerun of the benchmark.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBenchmark, type BenchmarkReport, type TestRecord } from '../../src/benchmark/protocols.js';
import { HEADLINE_METRICS } from '../../src/eval/units.js';
import { runCli } from '../helpers/cli.js';
import { oneStepBenchmarkConfig, writeSyntheticSet } from '../train/synthetic.js';

const record = async (run: string): Promise<TestRecord> => JSON.parse(await readFile(join(run, 'test-metrics.json'), 'utf8')) as TestRecord;

test(
  'benchmark --variants base,msccnet --seeds 1: the paired table in table.json/md, --compare prints it from the folders',
  { timeout: 300_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'msccnet-bench-compare-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const set = await writeSyntheticSet(join(dir, 'data'), { side: 64, train: 4, val: 4, seed: 5 });
    const config = oneStepBenchmarkConfig(set.manifest);
    const out = join(dir, 'bench');
    // one seed keeps the test short: the pairing of seeds is statistics.test.ts's
    const first = await runBenchmark('intra', config, { outDir: out, variants: ['base', 'msccnet'], compressions: ['c23'], seeds: [0] });
    assert.deepEqual(first.failed, []);

    const runOf = (row: string, seed: number): string => join(out, row, 'c23', 'intra', 'ffpp-c23', `seed-${seed}`);
    const m = [await record(runOf('msccnet', 0))];
    const b = [await record(runOf('base', 0))];
    // the units are the test's videos: every run holds the same ones, and their frames are the test images
    const videos = m[0]!.units!.map((u) => u.video);
    assert.ok(videos.length >= 2);
    for (const r of [...m, ...b])
      assert.deepEqual(
        r.units!.map((u) => u.video),
        videos,
      );
    assert.equal(
      m[0]!.units!.reduce((n, u) => n + u.scores.length, 0),
      m[0]!.counts.images,
    );

    const report = JSON.parse(await readFile(join(out, 'intra', 'table.json'), 'utf8')) as BenchmarkReport;
    assert.deepEqual(
      report.comparisons.map((c) => [c.a, c.b, c.testSet, c.metric]),
      HEADLINE_METRICS.map((metric) => ['msccnet', 'base', 'FF++ c23', metric]),
    );
    // the differences are those of the runs' own official metrics (and the video AUC extra)
    const mean = (rs: TestRecord[], get: (r: TestRecord) => number): number => get(rs[0]!);
    const gets = {
      'pixel mIoU': (r: TestRecord) => r.official.mIoU,
      'pixel F1': (r: TestRecord) => r.official.F1,
      'image AUC': (r: TestRecord) => r.official.AUC,
      'video AUC': (r: TestRecord) => r.extras.videoAuc!.AUC,
    };
    for (const c of report.comparisons) {
      const expected = mean(m, gets[c.metric]) - mean(b, gets[c.metric]);
      assert.ok(Math.abs(c.comparison.difference - expected) < 1e-12, `${c.metric}: ${c.comparison.difference} vs ${expected}`);
      assert.ok(c.comparison.low <= c.comparison.high);
      assert.deepEqual([c.comparison.videos, c.comparison.seeds, c.comparison.seedsB], [videos.length, 1, undefined]);
    }
    const md = await readFile(join(out, 'intra', 'table.md'), 'utf8');
    assert.match(md, /### Paired comparisons/);
    assert.match(md, /\| msccnet − base \| FF\+\+ c23 \| pixel mIoU \| /);

    const cli = await runCli(['benchmark', '--protocol', 'intra', '-o', out, '--compare', 'msccnet,base']);
    assert.equal(cli.code, 0, cli.stderr);
    const c0 = report.comparisons[0]!.comparison;
    const pts = (x: number): string => `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(100 * x).toFixed(2)}`;
    assert.ok(cli.stdout.includes(`| msccnet − base | FF++ c23 | pixel mIoU | ${pts(c0.difference)} | [${pts(c0.low)}, ${pts(c0.high)}] |`), cli.stdout);
    assert.match(cli.stdout, /- msccnet − base on FF\+\+ c23 video AUC: .* at 95 %/);

    // a folder from before units were recorded: --compare says what to do; the benchmark tests it again without training
    const old = await record(runOf('base', 0));
    const { units: _, ...withoutUnits } = old;
    await writeFile(join(runOf('base', 0), 'test-metrics.json'), JSON.stringify(withoutUnits));
    const refused = await runCli(['benchmark', '--protocol', 'intra', '-o', out, '--compare', 'msccnet,base']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /test-metrics.json was tested before per-video units were recorded\n {2}→ rerun the same benchmark command/);
    const started: string[] = [];
    await runBenchmark('intra', config, {
      outDir: out,
      variants: ['base', 'msccnet'],
      compressions: ['c23'],
      seeds: [0],
      onEvent: ({ run, event }) => {
        if (event.kind === 'start') started.push(run);
      },
    });
    assert.deepEqual(started, [], 'nothing trains again');
    assert.deepEqual((await record(runOf('base', 0))).units, old.units);
  },
);
