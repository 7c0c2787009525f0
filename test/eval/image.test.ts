import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError } from '../../src/errors.js';
import { equalErrorRate, imageScore, imageScores, MetricUndefinedError, rocAucScore, rocCurve } from '../../src/eval/index.js';

const close = (a: number, b: number, tol = 1e-15) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

// fakes score 0.9, 0.6, 0.4; reals 0.6, 0.4, 0.1. Pairs (fake, real), 9 in all:
//   0.9 beats all three                    → 3
//   0.6 ties 0.6 (½), beats 0.4 and 0.1    → 2.5
//   0.4 loses to 0.6, ties 0.4 (½), beats 0.1 → 1.5
// AUC = (3 + 2.5 + 1.5) / 9 = 7/9
const labels = [1, 1, 0, 1, 0, 0];
const scores = [0.9, 0.6, 0.6, 0.4, 0.4, 0.1];

test('AUC with tied scores counts each tied pair one half (7/9 by hand)', () => {
  close(rocAucScore(labels, scores), 7 / 9);
  // the order of the input does not matter
  const order = [3, 0, 5, 2, 4, 1];
  close(
    rocAucScore(
      order.map((i) => labels[i]),
      order.map((i) => scores[i]),
    ),
    7 / 9,
  );
});

test('roc_curve: one point per distinct score, collinear points dropped, (0, 0) prepended', () => {
  // cumulative (fp, tp) after thresholds 0.9, 0.6, 0.4, 0.1: (0,1) (1,2) (2,3) (3,3); (1,2) lies on
  // the line from (0,1) to (2,3) and is dropped, as sklearn's drop_intermediate does
  const roc = rocCurve(labels, scores);
  assert.deepEqual([...roc.fpr], [0, 0, 2 / 3, 1]);
  assert.deepEqual([...roc.tpr], [0, 1 / 3, 1, 1]);
  assert.deepEqual([...roc.thresholds], [1.9, 0.9, 0.4, 0.1]);
});

test('EER on a tiny case: root of 1 − x − tpr(x) inside a sloped segment', () => {
  // between (0, 1/3) and (2/3, 1) tpr = 1/3 + x, so 1 − x − 1/3 − x = 0 at x = 1/3
  close(equalErrorRate(rocCurve(labels, scores)), 1 / 3);
});

test('EER at a vertical ROC segment is where the segment crosses the line', () => {
  // real 0.9, fake 0.8, fake 0.7, real 0.6: ROC (0,0) (½,0) (½,1) (1,1). Left of ½, 1 − x − 0 > 0;
  // at ½ np.interp gives the top, 1 − ½ − 1 < 0: the root is the jump at ½
  const roc = rocCurve([0, 1, 1, 0], [0.9, 0.8, 0.7, 0.6]);
  assert.deepEqual([...roc.fpr], [0, 0.5, 0.5, 1]);
  assert.equal(equalErrorRate(roc), 0.5);
  // a perfect ranking: f(0) = 1 − 0 − 1 = 0, so brentq returns the bracket end 0
  assert.equal(equalErrorRate(rocCurve([1, 0], [0.9, 0.1])), 0);
});

test('AUC and ROC with one class raise, like sklearn', () => {
  assert.throws(() => rocAucScore([1, 1], [0.2, 0.3]), MetricUndefinedError);
  assert.throws(() => rocAucScore([1, 2], [0.2, 0.3]), ArgumentError);
  assert.throws(() => rocAucScore([1, 0], [0.2]), ArgumentError);
});

test('image score: softmax in float32; equal logits give exactly 0.5; very confident ones exactly 1', () => {
  assert.equal(imageScore([0, 0]), 0.5);
  assert.equal(imageScore([3, 3]), 0.5);
  // 1/(1 + e^−22) = 1 − 2.8e−10: below half the float32 spacing under 1 (2^−25), so it rounds to 1
  assert.equal(imageScore([-10, 12]), 1);
  assert.equal(imageScore([-9, 14.5]), 1);
  close(imageScore([0, Math.log(3)]), 0.75, 1e-7);
  assert.throws(() => imageScore([1, 2, 3]), ArgumentError);
});

test('ACC and img-F1 use a strict s > 0.5: a score of exactly 0.5 counts as real', () => {
  // fakes 0.5 (→ real, wrong), 0.8 (right); reals 0.4 (right), 0.6 (→ fake, wrong)
  // TP 1, FN 1, TN 1, FP 1: ACC ½, img-F1 = ½(2/4 + 2/4) = ½; AUC: 0.5<0.6 0, 0.5>0.4 1, 0.8 beats both 2 → 3/4
  const s = imageScores([1, 1, 0, 0], [imageScore([0, 0]), 0.8, 0.4, 0.6]);
  assert.equal(s.ACC, 0.5);
  assert.equal(s.imgF1, 0.5);
  assert.equal(s.AUC, 0.75);
  assert.deepEqual(s.parts, { n: 4, nPos: 2, nPredPos: 2, nCorrect: 2 });
});

/** A small deterministic generator, so the random cases are the same on every run. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1664525 + 1013904223) % 2 ** 32;
    return state / 2 ** 32;
  };
}

/** P(s⁺ > s⁻) + ½·P(s⁺ = s⁻) by counting every (fake, real) pair. */
function mannWhitney(y: readonly number[], s: readonly number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      pairs++;
      wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

test('AUC on 1000 scores equals the brute-force pair count (numpy pairwise-sum path)', () => {
  const rand = lcg(7);
  const y: number[] = Array.from({ length: 1000 }, () => (rand() < 0.4 ? 1 : 0));
  const tied = y.map((l) => Math.round((rand() + 0.3 * l) * 50) / 50); // ~65 distinct values
  close(rocAucScore(y, tied), mannWhitney(y, tied), 1e-12);
  const distinct = y.map(() => rand()); // ~1000 ROC points: several pairwise-sum blocks
  close(rocAucScore(y, distinct), mannWhitney(y, distinct), 1e-12);
});

test('EER: 1 − x − np.interp(x, fpr, tpr) changes sign at the returned x, on random ROCs', () => {
  // np.interp: at a repeated xp value it returns the fp of the last one; between knots, linear
  const interp = (x: number, xp: Float64Array, fp: Float64Array) => {
    let j = 0;
    while (j + 1 < xp.length && xp[j + 1] <= x) j++;
    if (j === xp.length - 1 || xp[j] === x) return fp[j];
    return fp[j] + ((fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])) * (x - xp[j]);
  };
  const rand = lcg(11);
  for (let trial = 0; trial < 200; trial++) {
    const n = 2 + Math.floor(rand() * 30);
    const y: number[] = Array.from({ length: n }, (_, i) => (i < 1 ? 1 : i < 2 ? 0 : rand() < 0.5 ? 1 : 0));
    const s = y.map((l) => Math.round((rand() + 0.5 * l) * 8) / 8);
    const roc = rocCurve(y, s);
    const eer = equalErrorRate(roc);
    const f = (x: number) => 1 - x - interp(x, roc.fpr, roc.tpr);
    assert.ok(eer >= 0 && eer <= 1);
    assert.ok(f(Math.min(eer + 1e-9, 1)) < 0 || Math.abs(f(eer)) < 1e-12, `trial ${trial}: f right of ${eer}`);
    assert.ok(eer === 0 || f(eer - 1e-9) > 0, `trial ${trial}: f left of ${eer}`);
  }
});
