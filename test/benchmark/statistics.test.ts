import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparisonSentence, meanStd, pairedBootstrap, quantileSorted } from '../../src/benchmark/statistics.js';

/** A test video's sufficient statistic here: its pixel accuracy counts. */
interface Unit {
  readonly right: number;
  readonly total: number;
}
const accuracy = (units: readonly Unit[]): number => units.reduce((a, u) => a + u.right, 0) / units.reduce((a, u) => a + u.total, 0);

test('meanStd: hand-computed mean and sample std (n − 1); one value has std 0', () => {
  assert.deepEqual(meanStd([2, 4, 4, 4, 5, 5, 7, 9]), { mean: 5, std: Math.sqrt(32 / 7), n: 8 });
  assert.deepEqual(meanStd([0.6]), { mean: 0.6, std: 0, n: 1 });
  assert.throws(() => meanStd([]), /MSCCNET_ARGUMENT|at least one value/);
});

test("quantileSorted is numpy's linear quantile", () => {
  // numpy.quantile([1, 2, 3, 4], [0, 0.25, 0.5, 0.975, 1]) = [1, 1.75, 2.5, 3.925, 4]
  const xs = [1, 2, 3, 4];
  assert.deepEqual(
    [0, 0.25, 0.5, 1].map((q) => quantileSorted(xs, q)),
    [1, 1.75, 2.5, 4],
  );
  assert.ok(Math.abs(quantileSorted(xs, 0.975) - 3.925) < 1e-12);
});

test('identical methods: the difference and its interval are exactly 0, no sign flips', () => {
  const run = Array.from({ length: 12 }, (_, v) => ({ right: 50 + 3 * v, total: 100 }));
  const c = pairedBootstrap({ a: [run, run, run], b: [run, run, run], metric: accuracy, resamples: 500 });
  assert.deepEqual([c.difference, c.low, c.high, c.signFlips], [0, 0, 0, 0]);
});

test('a known constant difference per video: the interval is that difference, and it is significant', () => {
  // A is right on 10 more of every 100 pixels of every video: every resample's difference is exactly 0.10
  const b = Array.from({ length: 20 }, (_, v) => ({ right: 40 + (v % 7), total: 100 }));
  const a = b.map((u) => ({ right: u.right + 10, total: 100 }));
  const c = pairedBootstrap({ a: [a, a], b: [b, b], metric: accuracy, resamples: 300, seed: 3 });
  for (const x of [c.difference, c.low, c.high]) assert.ok(Math.abs(x - 0.1) < 1e-12, String(x));
  assert.equal(c.signFlips, 0);
  assert.match(
    comparisonSentence('MSCCNet', 'Base.', 'c23', 'pixel accuracy', c),
    /^MSCCNet − Base\. on c23 pixel accuracy: \+10\.0 points \[\+10\.0, \+10\.0\], significant at 95 %/,
  );
});

test('noisy data with a known mean difference: the 95 % interval covers it, and excludes 0 only when it should', () => {
  // per-video differences d_v = 0.05 + noise with mean 0 over the videos, so the full-sample difference is 0.05
  const noise = [0.08, -0.08, 0.05, -0.05, 0.02, -0.02, 0.07, -0.07, 0.01, -0.01, 0.04, -0.04];
  const b = noise.map(() => ({ right: 500, total: 1000 }));
  const a = noise.map((n) => ({ right: 500 + 1000 * (0.05 + n), total: 1000 }));
  const c = pairedBootstrap({ a: [a], b: [b], metric: accuracy, resamples: 2000 });
  assert.ok(Math.abs(c.difference - 0.05) < 1e-12);
  assert.ok(c.low < 0.05 && c.high > 0.05 && c.low > 0, `[${c.low}, ${c.high}]`);
  // the same per-video noise around a difference of +0.001: not significant, and about half the resamples flip its sign
  const a0 = noise.map((n) => ({ right: 500 + 1000 * (0.001 + n), total: 1000 }));
  const c0 = pairedBootstrap({ a: [a0], b: [b], metric: accuracy, resamples: 2000 });
  assert.ok(c0.low < 0 && c0.high > 0, `[${c0.low}, ${c0.high}]`);
  assert.ok(c0.signFlips > 0.2 && c0.signFlips < 0.8, String(c0.signFlips));
  assert.match(comparisonSentence('A', 'B', 'c23', 'pixel accuracy', c0), /not significant at 95 %/);
});

test('the video is the resampling unit: one video carrying the whole difference drops out of ~(1 − 1/n)^n of the resamples', () => {
  // n = 10 videos of 1,000 pixels each; A differs from B only on video 0. Resampling videos leaves video 0 out with
  // probability (9/10)^10 = 0.349; resampling pixels (or frames) would almost never give a zero difference.
  const n = 10;
  const b = Array.from({ length: n }, () => ({ right: 500, total: 1000 }));
  const a = b.map((u, v) => (v === 0 ? { right: 900, total: 1000 } : u));
  const c = pairedBootstrap({ a: [a], b: [b], metric: accuracy, resamples: 4000, seed: 7 });
  const expected = (1 - 1 / n) ** n;
  assert.ok(Math.abs(c.signFlips - expected) < 0.03, `zero-difference share ${c.signFlips} vs ${expected}`);
  assert.equal(c.low, 0);
});

test('seeds are resampled with the videos: disagreeing seeds widen the interval', () => {
  const b = Array.from({ length: 8 }, () => ({ right: 50, total: 100 }));
  const up = b.map(() => ({ right: 60, total: 100 }));
  const down = b.map(() => ({ right: 45, total: 100 }));
  const c = pairedBootstrap({ a: [up, down], b: [b, b], metric: accuracy, resamples: 1000, seed: 1 });
  // mean over the two seeds: (+0.10 − 0.05) / 2 = +0.025; resampled seed pairs give −0.05, +0.025 or +0.10
  assert.ok(Math.abs(c.difference - 0.025) < 1e-12);
  assert.ok(Math.abs(c.low + 0.05) < 1e-12 && Math.abs(c.high - 0.1) < 1e-12, `[${c.low}, ${c.high}]`);
});

test('runs of other test sets, or a method without seeds, are refused', () => {
  const r = [{ right: 1, total: 2 }];
  assert.throws(() => pairedBootstrap({ a: [r], b: [], metric: accuracy }), /at least one seed/);
  assert.throws(() => pairedBootstrap({ a: [r], b: [[...r, ...r]], metric: accuracy }), /same test videos/);
  assert.throws(() => pairedBootstrap({ a: [r], b: [r], metric: accuracy, strata: [0, 1] }), /one stratum per video/);
});

test('3 seeds against 1: the difference is the mean of A over its seeds − B, and A’s seeds are drawn apart from B’s', () => {
  const b = Array.from({ length: 6 }, () => ({ right: 50, total: 100 }));
  const seedsA = [55, 60, 65].map((right) => b.map(() => ({ right, total: 100 })));
  const c = pairedBootstrap({ a: seedsA, b: [b], metric: accuracy, resamples: 1000, seed: 2 });
  assert.ok(Math.abs(c.difference - 0.1) < 1e-12);
  assert.deepEqual([c.seeds, c.seedsB], [3, 1]);
  // every resample's difference is the mean of 3 drawn A seeds − 0.5: between +0.05 and +0.15
  assert.ok(c.low >= 0.05 - 1e-12 && c.high <= 0.15 + 1e-12 && c.low < c.high, `[${c.low}, ${c.high}]`);
  assert.match(comparisonSentence('MSCCNet', 'FFD', 'c23', 'pixel mIoU', c), /3 and 1 seeds/);
});

test('strata: each resample keeps every stratum’s video count, so a metric that needs both classes stays defined', () => {
  // 1 real video among 9 fakes: unstratified, (9/10)^10 ≈ 35 % of resamples draw no real; stratified, none
  const units = Array.from({ length: 10 }, (_, v) => ({ right: v === 0 ? 1 : 0, total: 1 }));
  const realShare = (us: readonly { right: number }[]): number => {
    const reals = us.filter((u) => u.right === 1).length;
    return reals === 0 ? Number.NaN : reals / us.length;
  };
  const plain = pairedBootstrap({ a: [units], b: [units], metric: realShare, resamples: 200 });
  assert.ok(plain.difference === 0 && Number.isNaN(plain.low), 'an undefined resample leaves no interval');
  assert.match(comparisonSentence('A', 'B', 't', 'm', plain), /no interval/);
  const strat = pairedBootstrap({ a: [units], b: [units], metric: realShare, resamples: 200, strata: units.map((u) => u.right) });
  assert.deepEqual([strat.difference, strat.low, strat.high, strat.signFlips], [0, 0, 0, 0]);
});
