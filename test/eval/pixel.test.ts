import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgumentError } from '../../src/errors.js';
import { argmaxClasses, groundTruthFromMask, IGNORE, PixelConfusion, pixelScores } from '../../src/eval/index.js';

test('ground truth: 255 and 1 are fake, 0 real, 2..254 ignored', () => {
  const gt = groundTruthFromMask(new Uint8Array([0, 1, 2, 128, 254, 255]));
  assert.deepEqual([...gt], [0, 1, IGNORE, IGNORE, IGNORE, 1]);
});

test('argmax: fake iff Z1 > Z0 strictly; ties go to class 0', () => {
  // plane 0 (real) then plane 1 (fake), 4 pixels
  const z = new Float32Array([1, 2, 3, -1, /* fake */ 2, 2, 1, -0.5]);
  assert.deepEqual([...argmaxClasses(z, [2, 1, 4])], [1, 0, 0, 1]);
  assert.throws(() => argmaxClasses(z, [2, 2, 4]), ArgumentError);
});

test('pixel scores by hand on a small matrix', () => {
  // N00 = 6, N01 = 2, N10 = 1, N11 = 3 (12 pixels)
  // F1 real 12/(12+3) = 0.8, F1 fake 6/(6+3) = 2/3; IoU real 6/9, fake 3/6
  // acc 9/12; MCC = (18 − 2)/√(8·7·5·4) = 16/√1120
  const s = pixelScores({ n00: 6, n01: 2, n10: 1, n11: 3 });
  assert.equal(s.f1Real, 0.8);
  assert.equal(s.f1Fake, 2 / 3);
  assert.equal(s.F1, (0.8 + 2 / 3) / 2);
  assert.equal(s.mIoU, (6 / 9 + 0.5) / 2);
  assert.equal(s.pixAcc, 0.75);
  assert.ok(Math.abs(s.pixMCC - 16 / Math.sqrt(1120)) < 1e-15);
});

test('degenerate matrices give NaN like numpy: no fake pixel anywhere', () => {
  const s = pixelScores({ n00: 10, n01: 0, n10: 0, n11: 0 });
  assert.ok(Number.isNaN(s.f1Fake) && Number.isNaN(s.F1) && Number.isNaN(s.pixMCC));
  assert.equal(s.f1Real, 1);
});

test('confusion: ignored pixels are skipped; update per image then merge equals one pass', () => {
  const preds = [new Uint8Array([0, 1, 1, 0, 1]), new Uint8Array([1, 1, 0]), new Uint8Array([0, 0, 0, 1])];
  const gts = [new Int8Array([0, 1, IGNORE, 1, 0]), new Int8Array([1, 0, 0]), new Int8Array([IGNORE, 0, 1, 1])];
  const single = new PixelConfusion();
  preds.forEach((p, i) => single.update(p, gts[i]));
  // (gt, pred) — image 1: (0,0) (1,1) skip (1,0) (0,1); image 2: (1,1) (0,1) (0,0); image 3: skip (0,0) (1,0) (1,1)
  assert.deepEqual(single.toMatrix(), [
    [3, 2],
    [2, 3],
  ]);
  assert.equal(single.total, 10);
  const shardA = new PixelConfusion().update(preds[0], gts[0]);
  const shardB = new PixelConfusion().update(preds[2], gts[2]).update(preds[1], gts[1]);
  assert.deepEqual(new PixelConfusion().merge(shardB).merge(shardA).toMatrix(), single.toMatrix());
  assert.deepEqual(PixelConfusion.of(single).scores(), single.scores());
});

test('confusion rejects mismatched sizes and values outside 0/1', () => {
  assert.throws(() => new PixelConfusion().update(new Uint8Array(3), new Int8Array(4)), ArgumentError);
  assert.throws(() => new PixelConfusion().update(new Uint8Array([2]), new Int8Array([0])), ArgumentError);
  assert.throws(() => new PixelConfusion().update(new Uint8Array([0]), new Int8Array([3])), ArgumentError);
});
