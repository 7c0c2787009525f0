import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError } from '../../src/errors.js';
import { EvalInputError, Evaluator, MetricUndefinedError, type SampleResult } from '../../src/eval/index.js';

/**
 * A 1×n sample whose mask logits already have the gt size (the resize is then a copy): Z0 = 0
 * and Z1 = margin, so a pixel is predicted fake iff its margin > 0. The image score is p.
 */
function sample(id: string, label: number, p: number, margins: number[], gt: number[], extra: Partial<SampleResult> = {}): SampleResult {
  const n = margins.length;
  return {
    id,
    label,
    imageLogits: new Float32Array([0, Math.log(p / (1 - p))]),
    maskLogits: { data: Float32Array.from([...margins.map(() => 0), ...margins]), shape: [2, 1, n] },
    gtRaw: { data: Uint8Array.from(gt), shape: [1, gt.length] },
    ...extra,
  };
}

function throwsFor(id: string, make: () => unknown, pattern: RegExp): void {
  assert.throws(make, (err: unknown) => {
    assert.ok(err instanceof EvalInputError, `not an EvalInputError: ${String(err)}`);
    assert.equal(err.sampleId, id);
    assert.equal(err.code, 'MSCCNET_EVAL_INPUT');
    assert.match(err.message, new RegExp(`sample ${id}: `));
    assert.match(err.message, pattern);
    return true;
  });
}

test('bad input is an EvalInputError naming the sample', () => {
  const e = new Evaluator();
  const ok = sample('ok', 1, 0.7, [1, -1], [255, 0]);
  throwsFor('bad-label', () => e.add({ ...ok, id: 'bad-label', label: 2 }), /label is 2/);
  throwsFor('nan-img', () => e.add({ ...ok, id: 'nan-img', imageLogits: [0, Number.NaN] }), /image logit 1 is NaN/);
  throwsFor('two-img', () => e.add({ ...ok, id: 'two-img', imageLogits: [0, 1, 2] }), /3 image logits/);
  throwsFor(
    'nan-mask',
    () => e.add({ ...ok, id: 'nan-mask', maskLogits: { data: new Float32Array([0, 0, Number.NaN, 1]), shape: [2, 1, 2] } }),
    /mask logit 2 is NaN/,
  );
  throwsFor('inf-mask', () => e.add({ ...ok, id: 'inf-mask', maskLogits: { data: new Float32Array([0, 0, Infinity, 1]), shape: [2, 1, 2] } }), /Infinity/);
  throwsFor('3-class', () => e.add({ ...ok, id: '3-class', maskLogits: { data: new Float32Array(6), shape: [3, 1, 2] } }), /expected \[2, h, w\]/);
  throwsFor('short-mask', () => e.add({ ...ok, id: 'short-mask', maskLogits: { data: new Float32Array(3), shape: [2, 1, 2] } }), /hold 3 values/);
  throwsFor('short-gt', () => e.add({ ...ok, id: 'short-gt', gtRaw: { data: new Uint8Array(3), shape: [2, 2] } }), /holds 3 values/);
  assert.equal(e.state().records.length, 0, 'nothing was recorded');
});

test('a repeated id keeps its first occurrence even when the content differs', () => {
  const e = new Evaluator();
  e.add(sample('fake', 1, 0.9, [1, 1], [255, 255]));
  e.add(sample('real', 0, 0.2, [-1, -1], [0, 0]));
  e.add(sample('fake', 0, 0.1, [-1, -1], [0, 0])); // same id, other content: dropped
  const r = e.result();
  assert.deepEqual(r.counts, { entries: 3, images: 2, fake: 1, real: 1, duplicatesDropped: 1 });
  assert.equal(r.official.ACC, 1);
  assert.deepEqual(r.confusion, [
    [2, 0],
    [0, 2],
  ]);
});

test('only one class present: result() raises like sklearn', () => {
  const e = new Evaluator();
  e.add(sample('a', 1, 0.9, [1], [255]));
  assert.throws(() => e.result(), MetricUndefinedError);
});

test('per-image fake F1/IoU: images with empty gt and empty prediction follow the policy', () => {
  const add = (e: Evaluator) => {
    e.add(sample('hit', 1, 0.9, [1, -1, -1, -1], [255, 255, 0, 0])); // TP 1, FN 1: F1 2/3, IoU 1/2
    e.add(sample('empty', 1, 0.8, [-1, -1], [0, 0])); // no fake pixel in gt or prediction
    e.add(sample('real', 0, 0.2, [1, -1], [0, 0])); // reals do not enter the mean
    return e.result().extras.perImageFake;
  };
  const skip = add(new Evaluator());
  assert.deepEqual(skip, { F1: 2 / 3, IoU: 0.5, images: 1, emptyBoth: 1, policy: 'skip' });
  const one = add(new Evaluator({ emptyMaskPolicy: 'one' }));
  assert.deepEqual([one.F1, one.IoU, one.images, one.emptyBoth], [(2 / 3 + 1) / 2, 0.75, 2, 1]);
  const zero = add(new Evaluator({ emptyMaskPolicy: 'zero' }));
  assert.deepEqual([zero.F1, zero.IoU, zero.images], [1 / 3, 0.25, 2]);
  assert.throws(() => new Evaluator({ emptyMaskPolicy: 'half' as 'skip' }), ArgumentError);
});

test('video AUC scores each video by the mean of its frames', () => {
  // fake v1: frames 0.9, 0.3 (mean 0.6); real v2: 0.7, 0.7; real v3: 0.2.
  // Videos: 0.6 loses to 0.7 and beats 0.2 → 1/2. (Frames alone: 0.9 beats 3, 0.3 beats 1 → 4/6.)
  const e = new Evaluator({ pixelAuc: false });
  const frame = (id: string, label: number, p: number, video: string) => e.add(sample(id, label, p, [0], [label * 255], { video }));
  frame('v1_0', 1, 0.9, 'v1');
  frame('v1_1', 1, 0.3, 'v1');
  frame('v2_0', 0, 0.7, 'v2');
  frame('v2_1', 0, 0.7, 'v2');
  frame('v3_0', 0, 0.2, 'v3');
  const r = e.result();
  assert.deepEqual(r.extras.videoAuc, { AUC: 0.5, videos: 3 });
  assert.ok(Math.abs(r.official.AUC - 4 / 6) < 1e-15);
  frame('v1_2', 0, 0.5, 'v1');
  throwsFor('v1_2', () => e.result(), /video v1/);
});

test("video AUC groups frames by (method, video): the five methods' fakes of one pair are five videos", () => {
  // FF++ names a fake video <target>_<source> in every method's folder, so the video id alone merges them.
  // Fakes of 000_003 by five methods (one frame each): 0.9, 0.8, 0.7, 0.6, 0.1; real videos 000: 0.5, 003: 0.2.
  // Per (method, video): 4 fakes beat both reals, one beats none → 8/10. Merged into one video (mean 0.62) it would be 2/2.
  const e = new Evaluator({ pixelAuc: false });
  ['A', 'B', 'C', 'D', 'E'].forEach((method, i) => {
    e.add(sample(`${method}_000_003_0`, 1, [0.9, 0.8, 0.7, 0.6, 0.1][i]!, [0], [255], { video: '000_003', method }));
  });
  e.add(sample('youtube_000_0', 0, 0.5, [0], [0], { video: '000', method: 'youtube' }));
  e.add(sample('youtube_003_0', 0, 0.2, [0], [0], { video: '003' }));
  const r = e.result();
  assert.equal(r.extras.videoAuc?.videos, 7);
  assert.ok(Math.abs(r.extras.videoAuc!.AUC - 0.8) < 1e-15, `video AUC ${r.extras.videoAuc?.AUC}`);
});

test("per-manipulation metrics equal the official metrics of that method's fakes plus all reals", () => {
  const A = [sample('a1', 1, 0.9, [2, 1, -1], [255, 255, 0], { method: 'A' }), sample('a2', 1, 0.7, [1, -1, -1], [255, 0, 0], { method: 'A' })];
  const B = [sample('b1', 1, 0.1, [-1, -1, 1], [255, 255, 0], { method: 'B' })];
  const reals = [sample('r1', 0, 0.3, [-1, 1, -1], [0, 0, 0]), sample('r2', 0, 0.8, [-1, -1, -1], [0, 0, 0])];
  const all = new Evaluator();
  for (const s of [...A, ...reals, ...B]) all.add(s);
  const r = all.result();
  assert.deepEqual(Object.keys(r.extras.perManipulation), ['A', 'B']);
  for (const [method, fakes] of [
    ['A', A],
    ['B', B],
  ] as const) {
    const alone = new Evaluator();
    for (const s of [...fakes, ...reals]) alone.add(s);
    const o = alone.result().official;
    assert.deepEqual(r.extras.perManipulation[method], { ACC: o.ACC, AUC: o.AUC, F1: o.F1, mIoU: o.mIoU, fake: fakes.length, real: reals.length });
  }
  // by hand for B: fake 0.1 vs reals 0.3, 0.8 → AUC 0; ACC: b1 wrong, r1 right, r2 wrong → 1/3
  assert.equal(r.extras.perManipulation.B.AUC, 0);
  assert.equal(r.extras.perManipulation.B.ACC, 1 / 3);
});

test('pixel AUC ranks all non-ignored pixels by fake probability; ties count one half', () => {
  const e = new Evaluator();
  // fake pixels at margins 2 and −1, real at 1 and 3, one ignored (128) at 9:
  // 2 > 1, 2 < 3, −1 < 1, −1 < 3 → 1/4
  e.add(sample('f', 1, 0.9, [2, 1, -1, 3, 9], [255, 0, 255, 0, 128]));
  e.add(sample('r', 0, 0.1, [-5], [0]));
  // adds a real pixel at −5, below both fakes → (1 + 2) / (2·3) = 1/2
  assert.deepEqual(e.result().extras.pixelAuc, { AUC: 0.5, tieBound: 0, duplicatePixels: 0 });
  const tie = new Evaluator();
  tie.add(sample('t', 1, 0.9, [0.5, 0.5], [255, 0]));
  tie.add(sample('u', 0, 0.1, [0.5], [0]));
  assert.deepEqual(tie.result().extras.pixelAuc, { AUC: 0.5, tieBound: 0.5, duplicatePixels: 0 });
  const off = new Evaluator({ pixelAuc: false });
  off.add(sample('t', 1, 0.9, [0.5], [255]));
  off.add(sample('u', 0, 0.1, [0.5], [0]));
  assert.equal(off.result().extras.pixelAuc, null);
  assert.equal(off.state().pixelHistogram, null);
});

test('shards: merging states equals one pass; an id repeated across shards is dropped and its pixels reported', () => {
  const samples = [
    sample('x', 1, 0.9, [1, -2, 3], [255, 0, 255]),
    sample('y', 0, 0.4, [-1, 2], [0, 0]),
    sample('z', 1, 0.6, [0.5, -0.5, -1, 2], [255, 255, 0, 0]),
    sample('w', 0, 0.3, [-1], [0]),
  ];
  const single = new Evaluator();
  for (const s of samples) single.add(s);
  const rank0 = new Evaluator();
  const rank1 = new Evaluator();
  samples.slice(0, 2).forEach((s) => rank0.add(s));
  samples.slice(2).forEach((s) => rank1.add(s));
  rank1.add(samples[0]); // DistributedSampler-style padding: an id of rank 0 again
  const merged = Evaluator.fromState(JSON.parse(JSON.stringify(rank0.state()))).merge(rank1);
  const a = merged.result();
  const b = single.result();
  assert.deepEqual(a.official, b.official);
  assert.deepEqual(a.confusion, b.confusion);
  assert.equal(a.counts.duplicatesDropped, 1);
  assert.equal(a.extras.pixelAuc?.duplicatePixels, 3);
  assert.throws(() => new Evaluator({ pixelAuc: false }).merge(rank0), ArgumentError);
});

test('a malformed state from another process is rejected before merging', () => {
  const bad = { records: [{ id: 'x', label: 1, score: 0.5, confusion: [1, 2, 3], inPixelHistogram: false }], pixelHistogram: null };
  assert.throws(() => new Evaluator({ pixelAuc: false }).merge(bad as never), ArgumentError);
});
